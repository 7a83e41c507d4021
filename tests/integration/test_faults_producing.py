"""The fault suite's input producer ends with every record in the topic exactly once, even
when delivery reports were lost or failed (the topic is read back before re-sending)."""

from __future__ import annotations

import pytest

from faults.inputs import gameday_input
from faults.producing import Producing, read_back

pytestmark = pytest.mark.integration


def test_records_without_a_good_report_are_resent_once_and_never_twice(
    kafka_bootstrap, topic_factory
):
    topic = topic_factory(partitions=3)
    records = list(gameday_input(600, seed=5))
    producing = Producing(kafka_bootstrap, topic, records[:500], rate=5000.0)
    producing._produce_all()  # the first 500 go out; their reports come back
    assert len(producing._confirmed) == 500
    # as after a broker restart: some reports said "failed" although the records landed,
    # and 100 records never reached the broker at all
    for seq in range(0, 500, 7):
        producing._confirmed.discard(seq)
        producing._errors[seq] = "Local: Message timed out"
    producing.records = records
    producing._settle()
    assert producing.failed == [] and producing.repeated == 0
    assert producing.resent == 100  # only those not in the topic
    assert len(producing.expected) == 600
    assert sorted(ident for ident, _ in producing.expected.values()) == sorted(
        r.ident for r in records)
    assert all(len(p) == 1 for p in read_back(kafka_bootstrap, topic).values())
