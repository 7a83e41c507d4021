"""Event recall, false-positive rate and delay over scored units (records or windows).

A *unit* is what the pipeline scores: a record for record pipelines, a window for windowed
ones. Each unit carries the injected anomaly event it belongs to (``None`` when normal), the
event's kind, its position inside the event (0 = the event's first record or window), the
pipeline's flag and whether the model was still warming up.

Rules:

- an event counts once, however many units it spans; it is **detected** when any of its
  units is flagged; its **delay** is the position of its first flagged unit;
- an event whose units were all scored while the model warmed up is left out (warm-up
  models never flag) and counted in ``warm_events``;
- the **false-positive rate** is flagged normal units over normal units scored after the
  warm-up; it is also given per *phase* of a unit (``rush``: inside the generator's rush
  hours and ramps; ``end``: scored at the drain when the input ended).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["KindFigures", "ScenarioFigures", "Unit", "figures"]


@dataclass(frozen=True, slots=True)
class Unit:
    """One scored record or window."""

    flag: bool
    event: int | str | None = None
    kind: str | None = None
    position: int = 0
    warming_up: bool = False
    phase: str | None = None  # "rush", "end" or None


@dataclass
class KindFigures:
    """Events of one kind (or all kinds): how many, how many detected, their delays."""

    events: int = 0
    detected: int = 0
    delays: list[int] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.detected / self.events if self.events else float("nan")

    @property
    def mean_delay(self) -> float:
        return sum(self.delays) / len(self.delays) if self.delays else float("nan")

    @property
    def max_delay(self) -> float:
        return float(max(self.delays)) if self.delays else float("nan")


@dataclass
class ScenarioFigures:
    """Event and false-positive figures of one run."""

    overall: KindFigures
    by_kind: dict[str, KindFigures]
    normal: int
    false_positives: int
    warm_events: int
    units: int
    phases: dict[str, tuple[int, int]] = field(default_factory=dict)  # normal, FP

    @property
    def fpr(self) -> float:
        return self.false_positives / self.normal if self.normal else float("nan")

    def phase_fpr(self, phase: str) -> float:
        """False-positive rate among the normal units of one phase (NaN when none)."""
        normal, fp = self.phases.get(phase, (0, 0))
        return fp / normal if normal else float("nan")


def figures(units: Iterable[Unit]) -> ScenarioFigures:
    """Recall per event, false-positive rate and delays of a scored run.

    Examples
    --------
    Two events: ``a`` flagged at its second unit, ``b`` never; one false alarm among three
    normal units after the warm-up (the warm-up unit is not counted):

    >>> u = [Unit(False, warming_up=True), Unit(False), Unit(False, "a", "spike", 0),
    ...      Unit(True, "a", "spike", 1), Unit(True), Unit(False, "b", "drift", 0), Unit(False)]
    >>> f = figures(u)
    >>> f.overall.events, f.overall.detected, f.overall.delays, f.normal, f.false_positives
    (2, 1, [1], 3, 1)
    >>> f.by_kind["spike"].recall, f.by_kind["drift"].recall
    (1.0, 0.0)
    >>> figures([Unit(True, phase="rush"), Unit(False, phase="rush"), Unit(False)]).phases
    {'rush': (2, 1)}
    """
    first_flag: dict[int | str, int | None] = {}
    kinds: dict[int | str, str | None] = {}
    live: set[int | str] = set()
    normal = false_positives = total = 0
    phases: dict[str, tuple[int, int]] = {}
    for u in units:
        total += 1
        if u.event is None:
            if not u.warming_up:
                normal += 1
                false_positives += int(u.flag)
                if u.phase is not None:
                    n, fp = phases.get(u.phase, (0, 0))
                    phases[u.phase] = (n + 1, fp + int(u.flag))
            continue
        kinds.setdefault(u.event, u.kind)
        first_flag.setdefault(u.event, None)
        if not u.warming_up:
            live.add(u.event)
        if u.flag:
            known = first_flag[u.event]
            first_flag[u.event] = u.position if known is None else min(known, u.position)
    overall = KindFigures()
    by_kind: dict[str, KindFigures] = {}
    for event, flagged_at in first_flag.items():
        if event not in live:
            continue
        for cell in (overall, by_kind.setdefault(kinds[event] or "-", KindFigures())):
            cell.events += 1
            if flagged_at is not None:
                cell.detected += 1
                cell.delays.append(flagged_at)
    return ScenarioFigures(
        overall, by_kind, normal, false_positives, len(first_flag) - len(live), total, phases
    )
