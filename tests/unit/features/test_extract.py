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
