"""The CI variants of the fault suite: real servers, connector processes, every fault once.

Records (gameday): twenty thousand records (1% malformed, 0.2% mapping conflicts) produced
at 400/s while the connector is SIGKILLed once, a second instance joins and leaves,
OpenSearch is cut off for 30 s through a TCP proxy and the broker restarts (the local
stack's; with ``OUTLIER_KAFKA_BOOTSTRAP`` only if ``OUTLIER_FAULTS_KAFKA_RESTART`` names a
command restarting that broker). The input producer is exact, so its count is asserted.
Windows (tolls): twenty thousand CSV toll passes (1% malformed; windows of more than 127
vehicles refused by the index) at 500/s, 10 s windows per station on the input's
fast event clock, the same faults. Each run also sends an event per flagged document. A few
minutes each. Full runs:
``outlier-connector faults --scenario {gameday,tolls} --records 1000000 --kills 5``.
"""

from __future__ import annotations

import pytest

from faults.suite import SuiteOptions, run_suite
from faults.verify import format_table

pytestmark = pytest.mark.integration


def _check(opts: SuiteOptions, servers) -> None:
    result = run_suite(opts, servers)
    table = format_table(result.verdicts)
    print("\n".join(result.events), table, result.checkpoint, sep="\n")
    ref, run = result.verdicts["reference"], result.verdicts["faulted"]
    # the input itself is exact (faults.producing), so a failure below is the connector's
    figures = result.checkpoint
    assert figures["input_failed"] == [] and figures["input_repeated"] == 0, figures
    assert ref.records_in == opts.records, table
    assert ref.lost == 0 and ref.missing_errors == 0 and ref.unexpected_errors == 0, table
    assert ref.miscounted == 0 and ref.repeated == 0, table
    assert run.records_in == opts.records, table
    assert run.lost == 0, table
    assert run.duplicated == 0, table
    assert run.miscounted == 0, table
    assert run.missing_errors == 0 and run.unexpected_errors == 0, table
    assert run.repeated == 0, table  # every bad record dead-lettered exactly once
    assert run.continuity >= 0.99, table
    assert run.events_repeated == 0, table  # every flagged document's event exactly once
    if run.continuity == 1.0:  # then the flags match too: the same events as the reference
        assert run.events_missing == 0 and run.events_unexpected == 0, table
    assert any("kill a: SIGKILL (was assigned: True)" in e for e in result.events), result.events
    assert any("cut opensearch" in e for e in result.events)
    assert any("leave b: assigned=True" in e for e in result.events), result.events


def test_fault_suite_ci_variant(servers, tmp_path):
    _check(SuiteOptions(records=20_000, rate=400.0, kills=1, outage=30.0, workdir=tmp_path),
           servers)


def test_fault_suite_ci_windowed_variant(servers, tmp_path):
    opts = SuiteOptions(scenario="tolls", records=20_000, rate=500.0, kills=1, outage=30.0,
                        workdir=tmp_path)
    _check(opts, servers)
