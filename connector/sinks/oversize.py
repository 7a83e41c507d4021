"""Outputs too large for their topic: what is sent instead, so a partition never blocks.

A dead letter keeps the original record's bytes. When the record is larger than the
producer's ``message.max.bytes`` (librdkafka refuses it in ``produce()``) or the error
topic's ``max.message.bytes`` (the broker refuses it), the sink sends :func:`shrink`'s
version instead: the first :data:`PREVIEW_BYTES` of the value (and key), the original
headers (reason, source topic, partition, offset), and headers saying it was cut:

``error.truncated``  ``true``
``original.size``    the value's size in bytes
``original.sha256``  the value's SHA-256 (hex), to find the record in the source topic
``original.key.size`` the key's size, when the key was cut too

If even that does not fit, the output is *undeliverable*: the sink logs it, counts it, and
drops it, so the partition's other records are committed (see :mod:`connector.sinks.kafka`).
"""

from __future__ import annotations

import hashlib

from confluent_kafka import KafkaError

__all__ = ["PREVIEW_BYTES", "SIZE_ERRORS", "is_size_error", "shrink"]

#: Bytes of the original value (and key) a truncated dead letter keeps.
PREVIEW_BYTES = 1024

#: librdkafka and broker errors that mean "this message is too large".
SIZE_ERRORS = frozenset({KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE})


def is_size_error(err: object) -> bool:
    """Whether a ``KafkaError`` (or ``KafkaException``) says the message is too large.

    Examples
    --------
    >>> is_size_error(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)), is_size_error(None)
    (True, False)
    >>> is_size_error(KafkaError(KafkaError._MSG_TIMED_OUT))
    False
    """
    if err is not None and not isinstance(err, KafkaError):
        err = err.args[0] if getattr(err, "args", None) else None
    return isinstance(err, KafkaError) and err.code() in SIZE_ERRORS


def shrink(key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]] | None,
           preview: int = PREVIEW_BYTES
           ) -> tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]:
    """The truncated stand-in of an output: first ``preview`` bytes and what was cut.

    Examples
    --------
    >>> key, value, headers = shrink(b"k", b"x" * 3000, [("error.reason", b"bad JSON")], 4)
    >>> key, value
    (b'k', b'xxxx')
    >>> dict(headers)["error.truncated"], dict(headers)["original.size"]
    (b'true', b'3000')
    >>> dict(headers)["original.sha256"][:16]
    b'e1630f843370f402'
    """
    value = value or b""
    out = [h for h in headers or [] if not h[0].startswith(("error.truncated", "original."))]
    out += [("error.truncated", b"true"), ("original.size", str(len(value)).encode()),
            ("original.sha256", hashlib.sha256(value).hexdigest().encode())]
    if key is not None and len(key) > preview:
        out.append(("original.key.size", str(len(key)).encode()))
        key = key[:preview]
    return key, value[:preview], out
