"""The CI variant of the fault suite: real servers, connector processes, every fault once.

Twenty thousand gameday records (1% malformed, 0.2% mapping conflicts) produced at 400/s
while the connector is SIGKILLed once, a second instance joins and leaves, OpenSearch is cut
off for 30 s through a TCP proxy and (on the local stack) the broker restarts. Takes a few
minutes. The full run is ``outlier-connector faults --records 1000000 --kills 5``.
"""

from __future__ import annotations

import pytest

from faults.suite import SuiteOptions, run_suite
from faults.verify import format_table

pytestmark = pytest.mark.integration


def test_fault_suite_ci_variant(servers, tmp_path):
    opts = SuiteOptions(records=20_000, rate=400.0, kills=1, outage=30.0, workdir=tmp_path)
    result = run_suite(opts, servers)
    table = format_table(result.verdicts)
    print("\n".join(result.events), table, result.checkpoint, sep="\n")
    ref, run = result.verdicts["reference"], result.verdicts["faulted"]
    assert ref.lost == 0 and ref.missing_errors == 0 and ref.unexpected_errors == 0, table
    assert run.records_in == opts.records, table
    assert run.lost == 0, table
    assert run.duplicated == 0, table
    assert run.missing_errors == 0 and run.unexpected_errors == 0, table
    assert run.continuity >= 0.99, table
    assert any("kill a: SIGKILL (was assigned: True)" in e for e in result.events), result.events
    assert any("cut opensearch" in e for e in result.events)
    assert any("leave b: assigned=True" in e for e in result.events), result.events
