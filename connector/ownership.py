"""Which partitions this instance owns, and since which assignment: a batch's outputs and
commit are only for partitions owned from its consumption to its commit.

A rebalance can run while a batch is in flight (inside the consumer's poll while a failed
write is retried). When one of its partitions was revoked meanwhile (or revoked and assigned
again), the partition's new incarnation resumes from the last committed offset and replays
the batch's records itself. If the old batch then dead-lettered, emitted or committed for that
partition, the new owner's fence (read at its assignment) would not include those outputs and
they would repeat, or a commit would move under the new owner's feet. So the runner drops the
batch's outputs and offsets for such *stale* partitions (its documents were written anyway:
their ids are deterministic).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

__all__ = ["Ownership", "listen"]

logger = logging.getLogger(__name__)

TP = tuple[str, int]


class Ownership:
    """An epoch per partition assignment; stamps for batches; stale partitions at commit.

    Examples
    --------
    >>> own = Ownership(tracking=True)
    >>> own.assigned([("t", 0), ("t", 1)])
    >>> stamp = own.stamp([("t", 0), ("t", 1), ("t", 2)])
    >>> own.released([("t", 1)])
    >>> sorted(own.stale(stamp))  # t/1 revoked, t/2 never owned
    [('t', 1), ('t', 2)]
    >>> own.assigned([("t", 1)]); sorted(own.stale(stamp))  # assigned again: a new epoch
    [('t', 1), ('t', 2)]
    >>> Ownership().stale(stamp)  # not tracking (no consumer group): nothing is stale
    set()
    """

    def __init__(self, *, tracking: bool = False) -> None:
        self.tracking = tracking
        self._epochs: dict[TP, int] = {}
        self._next = 0

    def assigned(self, partitions: Iterable[TP]) -> None:
        for tp in partitions:
            self._next += 1
            self._epochs[tp] = self._next

    def released(self, partitions: Iterable[TP]) -> None:
        for tp in partitions:
            self._epochs.pop(tp, None)

    def stamp(self, partitions: Iterable[TP]) -> dict[TP, int | None]:
        """The current epoch of each partition of a batch (``None``: not owned)."""
        return {tp: self._epochs.get(tp) for tp in partitions}

    def stale(self, stamp: dict[TP, int | None]) -> set[TP]:
        """Partitions of a stamped batch not owned, continuously, since it was stamped."""
        if not self.tracking:
            return set()
        return {tp for tp, epoch in stamp.items() if epoch is None or self._epochs.get(tp) != epoch}


def listen(source: Any, ownership: Ownership, outputs: Any, checkpointer: Any) -> None:
    """Install the rebalance callbacks on a Kafka ``source`` (no-op for other sources).

    On assign: note the new epochs, let fenced outputs read what they hold, restore states.
    On revoke: snapshot states (checkpointer), then release. On loss: release.
    """
    if not hasattr(source, "on_rebalance"):
        return
    ownership.tracking = True

    def assigned(tps: list[TP], committed: Any, watermarks: Any) -> Any:
        ownership.assigned(tps)
        outputs.assigned(tps)
        return checkpointer.assign(tps, committed, watermarks) if checkpointer else {}

    def releasing(step: Any) -> Any:
        def release(tps: list[TP]) -> None:
            try:
                if step is not None:
                    step(tps)
            finally:
                ownership.released(tps)

        return release

    revoke = checkpointer.revoke if checkpointer is not None else None
    lose = checkpointer.lose if checkpointer is not None else None
    source.on_rebalance(assigned, releasing(revoke), releasing(lose))
