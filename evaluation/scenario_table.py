"""Text table of per-scenario figures (``outlier-connector evaluate --scenario``)."""

from __future__ import annotations

from evaluation.scenario_metrics import KindFigures, ScenarioFigures

__all__ = ["HEADER", "rows"]

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
    return out
