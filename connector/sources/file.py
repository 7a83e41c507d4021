"""File source: one record per line of a file or of stdin (``-``), for captured logs.

Useful for ``kubectl logs -f pod | outlier-connector run pipeline.yaml`` or replaying a
``kafka-console-consumer`` capture. A line's position is ``(name, 0, line_number)`` with
line numbers from 0. The name never equals a Kafka topic (``file-<stem>`` for a file,
``stdin-<UTC start time>`` for stdin), so line ids cannot collide with record ids in the
same index: replaying the same file rewrites nothing (409s), while each stdin run is new.
There is no offset store: :meth:`FileSource.commit` only remembers how far the runner got.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
import time
from collections.abc import Mapping
from typing import BinaryIO

from connector.records import SourceRecord

__all__ = ["FileSource"]

logger = logging.getLogger(__name__)


class FileSource:
    """Batches of lines from a file or stdin.

    Parameters
    ----------
    path
        A file path, or ``"-"`` for stdin.
    name
        The "topic" name used in positions and ids (default: ``file-<stem>`` or
        ``stdin-<YYYYmmddTHHMMSS>``).
    batch_size
        Most lines returned by one :meth:`consume`.
    poll_timeout
        Seconds :meth:`consume` waits for more input on a pipe (**blocks**).

    Examples
    --------
    >>> import io
    >>> src = FileSource("-", stream=io.BytesIO(b'a\\n\\nb\\n'), batch_size=10)
    >>> [(r.offset, r.value) for r in src.consume()], src.exhausted
    ([(0, b'a'), (2, b'b')], True)
    """

    def __init__(
        self,
        path: str,
        *,
        name: str | None = None,
        batch_size: int = 2000,
        poll_timeout: float = 0.5,
        stream: BinaryIO | None = None,
    ) -> None:
        if stream is None:
            stream = sys.stdin.buffer if path == "-" else open(path, "rb")
        self._stream = stream
        stem = os.path.splitext(os.path.basename(path))[0]
        started = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self.name = name or (f"stdin-{started}" if path == "-" else f"file-{stem}")
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self._line = 0
        self.exhausted = False
        self.committed_line = 0
        self._lines: list[bytes] = []
        self._rest = b""
        self._eof = False
        try:
            self._pollable = not os.path.isfile(path) and stream.fileno() >= 0
        except (OSError, ValueError, AttributeError):
            self._pollable = False

    def consume(self) -> list[SourceRecord]:
        """Up to ``batch_size`` non-empty lines (without the line end)."""
        if self.exhausted:
            return []
        if self._pollable:
            self._fill_from_pipe()
        else:
            while len(self._lines) < self.batch_size and not self._eof:
                raw = self._stream.readline()
                if raw:
                    self._lines.append(raw)
                else:
                    self._eof = True
        batch, self._lines = self._lines[: self.batch_size], self._lines[self.batch_size :]
        records = []
        for raw in batch:
            line = raw.rstrip(b"\r\n")
            if line:
                records.append(SourceRecord(self.name, 0, self._line, line))
            self._line += 1
        if self._eof and not self._lines:
            if self._rest:  # a last line without a line end
                records.append(SourceRecord(self.name, 0, self._line, self._rest.rstrip(b"\r")))
                self._line += 1
                self._rest = b""
            self.exhausted = True
        return records

    def _fill_from_pipe(self) -> None:
        # Read raw chunks (no buffered readline): select() cannot see a reader's buffer.
        fd = self._stream.fileno()
        timeout = self.poll_timeout
        while len(self._lines) < self.batch_size and not self._eof:
            if not select.select([fd], [], [], timeout)[0]:
                return
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self._eof = True
                return
            parts = (self._rest + chunk).split(b"\n")
            self._rest = parts.pop()
            self._lines.extend(parts)
            timeout = 0.0

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Remember the next line to process (there is no durable store for files)."""
        for offset in offsets.values():
            self.committed_line = max(self.committed_line, offset)

    def pause(self) -> None:
        """Nothing to pause: the runner simply stops reading while it retries."""

    def resume(self) -> None:
        """Counterpart of :meth:`pause`."""

    def idle(self, seconds: float, interrupt: threading.Event | None = None
             ) -> list[SourceRecord]:
        """Wait ``seconds`` without reading (**blocks**; returns early once ``interrupt`` is
        set); files have no group to stay in."""
        (interrupt or threading.Event()).wait(seconds)
        return []

    def close(self) -> None:
        if self._stream is not sys.stdin.buffer:
            self._stream.close()
