"""The fault-injection suite: real servers, connector processes, injected faults, a verdict.

``outlier-connector faults`` (:mod:`faults.cli`) produces a known input, runs an uninterrupted
reference connector and a faulted one (SIGKILLs, an OpenSearch outage through a TCP proxy,
a broker restart, malformed records and mapping conflicts, an instance joining and one
leaving), then checks the faulted run's documents and error topic against the input and the
reference's scores (:mod:`faults.verify`).
"""

from __future__ import annotations

__all__: list[str] = []
