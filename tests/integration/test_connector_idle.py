"""``--idle-timeout`` counts from the partition assignment, not from the wait for the group.

A member already in the group that does not poll holds the rebalance back (the group waits
for it to rejoin) for a few seconds, longer than the idle timeout: the connector must not
give up with 0 records before it ever got its partition.
"""

from __future__ import annotations

import threading
import time

import pytest
from confluent_kafka import Consumer

from connector.testing import gameday_runner, gameday_value, produce, unique, wait_for

pytestmark = pytest.mark.integration


def test_idle_timeout_counts_from_the_assignment(
    kafka_bootstrap, opensearch_url, topic_factory, index_name_factory
):
    topic, index, group = topic_factory(), index_name_factory(), unique("g")
    produce(kafka_bootstrap, topic, [gameday_value(i) for i in range(300)])
    holder = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group,
                       "enable.auto.commit": False, "session.timeout.ms": 45000})
    holder.subscribe([topic])
    assert wait_for(lambda: holder.poll(0.2) is not None or holder.assignment(), timeout=30)
    hold = 6.0  # the holder neither polls nor leaves for this long: the group waits for it
    release = threading.Timer(hold, holder.close)
    runner = gameday_runner(kafka_bootstrap, opensearch_url, topic, index, group,
                            batch_size=100)
    began = time.monotonic()
    release.start()
    try:
        stats = runner.run(idle_timeout=2.0)
    finally:
        release.join()
    took = time.monotonic() - began
    assert stats.records == 300, (stats, took)
    assert took >= hold, took  # it waited for the group, then for records, then idled
