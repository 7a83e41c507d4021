"""Which offsets a batch commits, and the consumer settings the runtime forces."""

from __future__ import annotations

from connector.sources.kafka import consumer_settings, next_offsets


def test_next_offsets_is_highest_plus_one_per_partition():
    positions = [("t", 0, 10), ("t", 1, 3), ("t", 0, 12), ("u", 0, 0), ("t", 0, 11)]
    assert next_offsets(positions) == {("t", 0): 13, ("t", 1): 4, ("u", 0): 1}
    assert next_offsets([]) == {}


def test_consumer_settings_force_manual_offsets_and_pass_the_rest_verbatim():
    block = {"bootstrap.servers": "b:1", "enable.auto.commit": True,
             "enable.auto.offset.store": True, "auto.offset.reset": "latest",
             "session.timeout.ms": 6000}
    settings = consumer_settings(block, "grp")
    assert settings["enable.auto.commit"] is False
    assert settings["enable.auto.offset.store"] is False
    assert settings["auto.offset.reset"] == "latest"
    assert settings["session.timeout.ms"] == 6000
    assert settings["group.id"] == "grp"
    assert block["enable.auto.commit"] is True  # the config block itself is not changed
