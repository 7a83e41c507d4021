from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.config import FeatureSpec
from connector.errors import RecordRejected
from connector.features.extract import FeatureExtractor


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(1_700_000_000 + seconds, tz=UTC)


def test_onehot_and_unknown_ordinal():
    ex = FeatureExtractor(
        [
            FeatureSpec("m", "categorical", "method", encoding="onehot", categories=("GET", "PUT")),
            FeatureSpec("lvl", "categorical", "level", categories=("DEBUG", "INFO")),
        ]
    )
    assert ex.names == ["m=GET", "m=PUT", "lvl"]
    assert ex.extract({"method": "PUT", "level": "PANIC"}) == {
        "m=GET": 0.0,
        "m=PUT": 1.0,
        "lvl": 2.0,
    }


def test_missing_numeric_rejected_unless_default():
    spec = FeatureSpec("rt", "numeric", "response_time")
    with pytest.raises(RecordRejected, match="missing field 'response_time'"):
        FeatureExtractor([spec]).extract({})
    with_default = FeatureSpec("rt", "numeric", "response_time", default=0.0)
    assert FeatureExtractor([with_default]).extract({}) == {"rt": 0.0}


def test_transform_domain_is_checked():
    ex = FeatureExtractor([FeatureSpec("b", "numeric", "bytes", transform="log")])
    assert ex.extract({"bytes": 1}) == {"b": 0.0}
    with pytest.raises(RecordRejected, match="has no log"):
        ex.extract({"bytes": 0})


def test_recent_count_counts_a_burst_in_event_time():
    ex = FeatureExtractor(
        [
            FeatureSpec(
                "err",
                "derived",
                "lvl",
                derive="recent_count",
                value=["ERROR", "CRITICAL"],
                seconds=10.0,
            )
        ]
    )
    seen = [ex.extract({"lvl": "ERROR"}, at=at(i * 0.5))["err"] for i in range(20)]
    assert seen == [float(i + 1) for i in range(20)]
    # 10 s after the last error the window is empty again; an INFO line is not counted
    assert ex.extract({"lvl": "INFO"}, at=at(9.5 + 10.0))["err"] == 0.0


def test_recent_count_with_out_of_order_times_equals_a_brute_force_count():
    import random
    from collections import deque

    spec = FeatureSpec("err", "derived", "lvl", derive="recent_count", value="ERROR", seconds=5.0)
    ex, rng, kept = FeatureExtractor([spec]), random.Random(3), deque()
    for i in range(400):
        when = at(i * 0.3 + rng.uniform(-4.0, 1.0))  # often older than records already seen
        level = rng.choice(["ERROR", "INFO"])
        if i == 200:  # a restart in the middle: the restored state counts the same
            restored = FeatureExtractor([spec])
            restored.restore(ex.snapshot())
            ex = restored
        # the rule, written plainly: keep matching times, drop from the oldest kept end,
        # count the kept times not after this record's
        now = when.timestamp()
        if level == "ERROR":
            kept.append(now)
        while kept and kept[0] <= now - 5.0:
            kept.popleft()
        expected = float(sum(1 for k in kept if k <= now))
        assert ex.extract({"lvl": level}, at=when)["err"] == expected, i


def test_equals_matches_values_and_their_text():
    spec = FeatureSpec("x", "derived", "code", derive="equals", value=[500, "DOWN"])
    ex = FeatureExtractor([spec])
    got = [ex.extract({"code": v})["x"] for v in (500, 500.0, "500", "DOWN", 200, [500], None)]
    assert got == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]


def test_per_key_state_deviation_change_and_run_length():
    ex = FeatureExtractor(
        [
            FeatureSpec("dev", "derived", "t", derive="key_deviation", alpha=0.5),
            FeatureSpec("chg", "derived", "t", derive="key_change"),
            FeatureSpec("run", "derived", "t", derive="run_length"),
        ]
    )
    assert ex.extract({"t": 10}, key="a") == {"dev": 0.0, "chg": 0.0, "run": 1.0}
    assert ex.extract({"t": 50}, key="b") == {"dev": 0.0, "chg": 0.0, "run": 1.0}
    assert ex.extract({"t": 20}, key="a") == {"dev": 10.0, "chg": 10.0, "run": 1.0}
    assert ex.extract({"t": 20}, key="a") == {"dev": 5.0, "chg": 0.0, "run": 2.0}
    restored = FeatureExtractor(ex.specs)
    restored.restore(ex.snapshot())
    assert restored.extract({"t": 20}, key="a") == ex.extract({"t": 20}, key="a")


def test_status_class_and_equals():
    ex = FeatureExtractor(
        [
            FeatureSpec("cls", "derived", "status", derive="status_class"),
            FeatureSpec("rej", "derived", "action", derive="equals", value="REJECT"),
        ]
    )
    assert ex.extract({"status": 503, "action": "REJECT"}) == {"cls": 5.0, "rej": 1.0}
    assert ex.extract({"status": "204", "action": "ACCEPT"}) == {"cls": 2.0, "rej": 0.0}
