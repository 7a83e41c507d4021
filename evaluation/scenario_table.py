"""Text table of per-scenario figures (``outlier-connector evaluate --scenario``)."""

from __future__ import annotations

from evaluation.scenario_metrics import KindFigures, ScenarioFigures

__all__ = ["HEADER", "PHASES", "rows", "summary"]

HEADER = (
    f"{'scenario':<9} {'strength':<8} {'kind':<15} {'unit':<7} {'events':>6} {'det':>4} "
    f"{'recall':>6} {'FPR':>7} {'normal':>7} {'FP':>4} {'delay mean/max':>14} {'sec':>6}"
)


def _f(v: float, digits: int = 2) -> str:
    return "-" if v != v else f"{v:.{digits}f}"  # NaN -> "-"


def rows(scenario: str, strength: str, unit: str, f: ScenarioFigures, seconds: float) -> list[str]:
    """One line for all events of the run, then one per kind.

    Examples
    --------
    >>> from evaluation.scenario_metrics import Unit, figures
    >>> f = figures([Unit(False), Unit(True, 1, "spike", 0), Unit(True)])
    >>> rows("sensors", "default", "record", f, 1.0)[0].split()
    ['sensors', 'default', 'all', 'record', '1', '1', '1.000', '0.5000', '2', '1', '0.00', '/', \
'0.00', '1.0']
    """

    def line(kind: str, k: KindFigures, fpr: str, normal: str, fp: str, sec: str) -> str:
        delay = f"{_f(k.mean_delay)} / {_f(k.max_delay, 2)}"
        return (
            f"{scenario:<9} {strength:<8} {kind:<15} {unit:<7} {k.events:>6} {k.detected:>4} "
            f"{_f(k.recall, 3):>6} {fpr:>7} {normal:>7} {fp:>4} {delay:>14} {sec:>6}"
        )

    out = [line("all", f.overall, _f(f.fpr, 4), str(f.normal), str(f.false_positives),
                f"{seconds:.1f}")]
    out += [line(kind, k, "", "", "", "") for kind, k in sorted(f.by_kind.items())]
    for phase, (normal, fp) in sorted(f.phases.items()):
        out.append(f"{'':<9} {'':<8} {'FPR ' + PHASES.get(phase, phase):<24} "
                   f"{_f(f.phase_fpr(phase), 4):>27} {normal:>7} {fp:>4}")
    return out


PHASES = {"rush": "in rush hours", "end": "end of input"}


def summary(scenario: str, strength: str, runs: dict[int, ScenarioFigures]) -> list[str]:
    """Mean and range over seeds: recall per kind, FPR overall and per phase, max delay.

    Examples
    --------
    >>> from evaluation.scenario_metrics import Unit, figures
    >>> a = figures([Unit(False), Unit(True, 1, "drop", 0), Unit(False, phase="rush")])
    >>> b = figures([Unit(True), Unit(False, 1, "drop", 0), Unit(True, phase="rush")])
    >>> for line in summary("tolls", "default", {3: a, 4: b}):
    ...     print(line)
    tolls default seeds 3,4: FPR 0.5000 [0.0000-1.0000]
      all             recall 0.500 [0.000-1.000] (1/2) max delay 0
      drop            recall 0.500 [0.000-1.000] (1/2) max delay 0
      FPR in rush hours 0.5000 [0.0000-1.0000] (1/2)
    """

    def spread(values: list[float], digits: int) -> str:
        values = [v for v in values if v == v]
        if not values:
            return "-"
        mean = sum(values) / len(values)
        return f"{mean:.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]"

    def recall(cells: list[KindFigures]) -> str:
        events, found = sum(c.events for c in cells), sum(c.detected for c in cells)
        delays = [d for c in cells for d in c.delays]
        worst = max(delays) if delays else "-"
        return (f"recall {spread([c.recall for c in cells], 3)} ({found}/{events}) "
                f"max delay {worst}")

    figs = list(runs.values())
    seeds = ",".join(str(s) for s in runs)
    out = [f"{scenario} {strength} seeds {seeds}: FPR {spread([f.fpr for f in figs], 4)}",
           f"  {'all':<15} {recall([f.overall for f in figs])}"]
    kinds = sorted({k for f in figs for k in f.by_kind})
    for kind in kinds:
        cells = [f.by_kind[kind] for f in figs if kind in f.by_kind]
        out.append(f"  {kind:<15} {recall(cells)}")
    for phase in sorted({p for f in figs for p in f.phases}):
        normal = sum(f.phases.get(phase, (0, 0))[0] for f in figs)
        fp = sum(f.phases.get(phase, (0, 0))[1] for f in figs)
        out.append(f"  FPR {PHASES.get(phase, phase)} "
                   f"{spread([f.phase_fpr(phase) for f in figs], 4)} ({fp}/{normal})")
    return out
