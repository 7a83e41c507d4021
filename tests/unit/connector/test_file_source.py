"""The file/stdin source on real files and pipes: line positions, batching, end of input."""

from __future__ import annotations

import os
import threading
import time

from connector.sources.file import FileSource


def test_file_lines_keep_their_line_numbers_and_skip_blanks(tmp_path):
    path = tmp_path / "capture.log"
    path.write_bytes(b"a\r\n\nb\nc")  # CRLF, a blank line, no final newline
    src = FileSource(str(path), batch_size=2)
    batches = []
    while not src.exhausted:
        batches.append([(r.topic, r.offset, r.value) for r in src.consume()])
    batches = [b for b in batches if b]
    assert batches == [[("file-capture", 0, b"a")],
                       [("file-capture", 2, b"b"), ("file-capture", 3, b"c")]]


def test_pipe_returns_what_arrived_without_waiting_for_a_full_batch():
    read_fd, write_fd = os.pipe()
    src = FileSource("-", stream=os.fdopen(read_fd, "rb"), batch_size=100, poll_timeout=0.2)
    src._pollable = True  # a pipe, like stdin under `kubectl logs -f | ...`
    os.write(write_fd, b"one\ntwo\npart")
    first = [r.value for r in src.consume()]
    assert first == [b"one", b"two"]
    assert src.consume() == []  # nothing complete arrived within poll_timeout

    def finish():
        time.sleep(0.1)
        os.write(write_fd, b"ial\n")
        os.close(write_fd)

    threading.Thread(target=finish).start()
    rest = []
    while not src.exhausted:
        rest.extend((r.offset, r.value) for r in src.consume())
    assert rest == [(2, b"partial")]
