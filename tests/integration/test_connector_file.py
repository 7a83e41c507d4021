"""Captured logs through stdin and a file: ``run --input`` indexes every good line once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connector.testing import GAMEDAY_PIPELINE, doc_offsets, gameday_value, read_topic

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], stdin: bytes | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "connector", "run", str(GAMEDAY_PIPELINE), *args],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, input=stdin,
        capture_output=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def test_file_and_stdin_lines_become_documents(
    tmp_path, kafka_bootstrap, opensearch_url, opensearch, index_name_factory, topic_factory
):
    index, errors = index_name_factory(), topic_factory()  # never the real gameday.errors
    lines = [gameday_value(i) for i in range(300)]
    lines[7] = b"{truncated"
    capture = tmp_path / "pod.log"
    capture.write_bytes(b"\n".join(lines) + b"\n")
    common = ["--index", index, "--opensearch-url", opensearch_url, "--bootstrap",
              kafka_bootstrap, "--errors-topic", errors, "--batch-size", "64"]

    first = _run(["--input", str(capture), *common])
    assert (first["records"], first["indexed"], first["dead_lettered"]) == (300, 299, 1)
    again = _run(["--input", str(capture), *common])  # the same file replayed: nothing new
    assert (again["indexed"], again["duplicates"]) == (0, 299)
    piped = _run(["--input", "-", *common], stdin=b"\n".join(lines[:50]))
    assert piped["indexed"] == 49  # stdin runs are distinct streams

    assert len(doc_offsets(opensearch, index)) == 299 + 49
    doc = opensearch.get(index=index, id="file-pod+0+8")["_source"]
    assert doc["log_identifier"] == "LOG-000008" and "score" in doc["outlier"]
    # the truncated line 8 (offset 7), once per run (the file twice, then stdin): a file
    # replayed is a new run, and only this test's own error topic holds them
    letters = read_topic(kafka_bootstrap, errors, 4, timeout=10)
    assert [(m.value(), dict(m.headers())["source.offset"]) for m in letters] == [
        (b"{truncated", b"7")] * 3
