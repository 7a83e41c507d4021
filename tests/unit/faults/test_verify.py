"""The suite's verdict and its building blocks, on plain values (no servers)."""

from __future__ import annotations

import doctest
import importlib
import socket
import threading

import pytest

from faults.inputs import gameday_input
from faults.proxy import TcpProxy
from faults.suite import SuiteOptions, _timeline
from faults.verify import verify

EXPECTED = {(0, 0): ("A", "good"), (0, 1): ("B", "malformed"), (1, 0): ("C", "good"),
            (1, 1): ("D", "conflict")}


@pytest.mark.parametrize("module", ["faults.verify", "faults.inputs", "faults.figures",
                                    "faults.proxy", "faults.verify_windows", "faults.scenarios"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module),
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_clean_run_is_ok():
    docs = {(0, 0): ("A", 1.0), (1, 0): ("C", 2.0)}
    v = verify(EXPECTED, docs, [(0, 1), (1, 1)], {(0, 0): 1.0, (1, 0): 2.0})
    assert v.ok and v.continuity == 1.0 and v.bad_in == 2


def test_lost_unexpected_and_missing_errors_are_counted():
    v = verify(EXPECTED, {(0, 0): ("A", 1.0)}, [(0, 1), (0, 0)], {(0, 0): 1.0})
    assert (v.lost, v.missing_errors, v.unexpected_errors) == (1, 1, 1)
    assert not v.ok


def test_document_of_a_bad_record_is_a_duplicate_and_scores_must_match():
    docs = {(0, 0): ("A", 1.0), (1, 0): ("C", 2.5), (0, 1): ("B", 0.1)}
    v = verify(EXPECTED, docs, [(0, 1), (1, 1)], {(0, 0): 1.0, (1, 0): 2.0})
    assert v.duplicated == 1 and v.same_score == 1 and v.compared == 2
    assert not v.ok


def test_input_fates_are_deterministic_and_bad_ones_fail_to_parse():
    import json

    first = list(gameday_input(3000, seed=9))
    assert first == list(gameday_input(3000, seed=9))
    for rec in first:
        if rec.fate == "malformed":
            try:
                body = json.loads(rec.value)
            except ValueError:
                continue
            assert "log_message" not in body or body["log_message"]["timestamp"] == "not a time"


def test_timeline_spreads_kills_and_pairs_the_outage():
    events = _timeline(SuiteOptions(kills=5, outage=30.0), 100.0, __import__("random").Random(1))
    names = [n for _, n in events]
    assert names.count("kill a") == 5 and names.count("restart kafka") == 1
    cut = dict((n, t) for t, n in events)
    assert cut["restore opensearch"] - cut["cut opensearch"] == pytest.approx(30.0)
    kills = [t for t, n in events if n == "kill a"]
    assert all(10.0 <= t <= 90.0 for t in kills)


def test_proxy_forwards_then_cuts_then_restores():
    server = socket.create_server(("127.0.0.1", 0))

    def echo() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=conn: [c.sendall(d) for d in iter(
                lambda: c.recv(1024), b"")], daemon=True).start()

    threading.Thread(target=echo, daemon=True).start()
    with TcpProxy(server.getsockname()) as proxy:
        def ask() -> bytes:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
                s.sendall(b"ping")
                return s.recv(16)

        assert ask() == b"ping"
        proxy.cut()
        with pytest.raises(OSError):
            reply = ask()
            if not reply:
                raise ConnectionResetError("closed by the proxy")
        proxy.restore()
        assert ask() == b"ping"
    server.close()
