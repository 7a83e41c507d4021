"""The checkpoint blob: one versioned byte string holding every part of a partition's state.

A fixed head (magic ``OCS``, format version, header length), a small JSON header (the offset the
state covers, each part's name and size), then the parts' bytes in order. The store
(:mod:`connector.state_store`) keeps it as it is; a blob of another format version fails with
a message that names both versions.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping

__all__ = ["FORMAT_NAME", "decode_state", "encode_state"]

_MAGIC = b"OCS"
_FORMAT = 1
_HEAD = struct.Struct(">3sBI")  # magic, format version, header length
FORMAT_NAME = f"ocs/{_FORMAT}"


def encode_state(offset: int, parts: Mapping[str, bytes]) -> bytes:
    """One versioned blob: a small JSON header (offset, part sizes) then the parts' bytes.

    Examples
    --------
    >>> blob = encode_state(42, {"scorer": b"abc", "windows": b""})
    >>> blob[:3], decode_state(blob)
    (b'OCS', (42, {'scorer': b'abc', 'windows': b''}))
    """
    header = json.dumps(
        {"offset": offset, "parts": [[name, len(data)] for name, data in parts.items()]}
    ).encode()
    return b"".join([_HEAD.pack(_MAGIC, _FORMAT, len(header)), header, *parts.values()])


def decode_state(blob: bytes) -> tuple[int, dict[str, bytes]]:
    """Inverse of :func:`encode_state`; raises ``ValueError`` on a blob it cannot read.

    Examples
    --------
    >>> decode_state(b"nope")
    Traceback (most recent call last):
    ...
    ValueError: not a state blob
    """
    if len(blob) < _HEAD.size:
        raise ValueError("not a state blob")
    magic, version, size = _HEAD.unpack_from(blob)
    if magic != _MAGIC:
        raise ValueError("not a state blob")
    if version != _FORMAT:
        raise ValueError(f"state format {version} is not supported (want {_FORMAT})")
    header = json.loads(blob[_HEAD.size : _HEAD.size + size])
    pos, parts = _HEAD.size + size, {}
    for name, length in header["parts"]:
        parts[name] = blob[pos : pos + length]
        pos += length
    if pos != len(blob):
        raise ValueError("state blob is truncated or padded")
    return int(header["offset"]), parts
