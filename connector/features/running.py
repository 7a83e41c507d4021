"""Per-key running state of record features: deviations in the key's own units, gaps,
group agreement and category novelty.

Each class keeps bounded state (``MAX_KEYS`` keys, least recently seen forgotten first), is
fed one record at a time in event-time order and returns one float. They serve the derived
feature kinds of :mod:`connector.features.extract`:

- :class:`KeyZScore` (``key_zscore``, ``key_zmean``, ``key_zenergy``): the value against the
  key's exponentially weighted mean, in the key's own standard deviations (a 2 °C rise is
  13 σ on a quiet sensor and 1 σ on a noisy one); optionally smoothed over the key's recent
  records (a drift or a shift that no single record shows) or as a running mean of z²
  (a sensor whose noise grew). Residuals are clipped at ``CLIP`` σ before they update the
  key's mean and at ``SPREAD_CLIP`` σ before they update its spread, so an outlier does not
  teach the baseline and a slow change does not widen the spread it is judged by.
- :class:`KeyGap` (``key_gap``): event time since the key's previous record over the key's
  typical gap (a sensor that went silent for 10 minutes returns with a gap of 20).
- :class:`GroupAgreement` (``group_zmean``): keys grouped by numeric id ranges (the sensors
  of one device); the second-strongest smoothed deviation among a group's members in the same
  direction: high only when two members deviate together.
- :class:`Novelty` (``novelty``): ``1 / (1 + n)`` where ``n`` is how often the value was seen
  before (counts decay with a half-life in event time): an unseen category scores 1; a value
  seen ``SEEN`` times or more scores 0 (a rare but familiar value, such as an isolated ERROR
  line, is not news).
- :class:`Aliases`: spellings of one category (``WARN``, ``warn``, ``WARNING``) mapped to
  its canonical name, case-insensitively.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["Aliases", "GroupAgreement", "KeyGap", "KeyZScore", "MAX_KEYS", "Novelty"]

MAX_KEYS = 100_000  # per feature; least recently seen keys are forgotten first
CLIP = 4.0  # residuals beyond this many standard deviations update the mean as this many
SPREAD_CLIP = 2.5  # ... and the variance as this many (a slow change does not widen it)
WARMUP = 5  # records of a key before its z is reported (0 before)
SEEN = 10.0  # Novelty: a value seen this often (decayed count) is familiar: novelty 0


def _bounded(state: OrderedDict, key: str, value: Any) -> None:
    state[key] = value
    state.move_to_end(key)
    if len(state) > MAX_KEYS:
        state.popitem(last=False)


class KeyZScore:
    """The value in the key's own standard deviations, raw, smoothed or as energy.

    Parameters
    ----------
    alpha
        Weight of a new record in the key's mean (``1/alpha`` records of memory).
    spread_alpha
        Weight of a new record in the key's variance (default ``alpha``).
    smooth
        0: the record's own z; otherwise the key's running mean of z with this weight
        (``output="mean"``) or of z² (``output="energy"``, reported as its square root).
    min_spread
        Floor of the standard deviation (a constant key does not divide by zero).

    Examples
    --------
    >>> quiet, noisy = KeyZScore(alpha=0.05), KeyZScore(alpha=0.05)
    >>> for i in range(200):
    ...     _ = quiet.update("q", 50.0 + 0.3 * (-1) ** i)
    ...     _ = noisy.update("n", 80.0 + 2.5 * (-1) ** i)
    >>> round(quiet.update("q", 52.0), 1), round(noisy.update("n", 82.0), 1)
    (6.7, 0.8)
    """

    def __init__(
        self,
        alpha: float = 0.05,
        spread_alpha: float | None = None,
        smooth: float = 0.0,
        output: str = "z",
        min_spread: float = 1e-6,
    ) -> None:
        if output not in ("z", "mean", "energy"):
            raise ValueError(f"output must be z, mean or energy, got {output!r}")
        self.alpha = alpha
        self.spread_alpha = spread_alpha or alpha
        self.smooth = smooth
        self.output = output
        self.min_spread = min_spread
        # key -> [n, mean, var, acc]
        self.state: OrderedDict[str, list[float]] = OrderedDict()

    def update(self, key: str, value: float) -> float:
        """This record's output, then learn it."""
        st = self.state.get(key)
        if st is None:
            _bounded(self.state, key, [1.0, value, 0.0, self.neutral])
            return self._report(0.0, None)
        n, mean, var, acc = st
        sd = max(math.sqrt(var), self.min_spread)
        z = (value - mean) / sd if n >= WARMUP else 0.0
        # early records: plain averages (1/n), then exponential weights
        a = max(self.alpha, 1.0 / (n + 1))
        b = max(self.spread_alpha, 1.0 / (n + 1))
        r = rv = value - mean
        if n >= WARMUP:
            r = max(-CLIP * sd, min(CLIP * sd, r))
            rv = max(-SPREAD_CLIP * sd, min(SPREAD_CLIP * sd, rv))
        mean += a * r
        var = (1 - b) * (var + b * rv * rv)
        if self.output == "mean":
            acc += self.smooth * (z - acc)
        elif self.output == "energy":
            acc += self.smooth * (min(z * z, CLIP * CLIP * 4) - acc)
        _bounded(self.state, key, [n + 1, mean, var, acc])
        if n < WARMUP:
            return self._report(0.0, None)
        return self._report(z, acc)

    def _report(self, z: float, acc: float | None) -> float:
        if self.output == "z":
            return z
        if acc is None:
            return 0.0 if self.output == "mean" else 1.0
        return acc if self.output == "mean" else math.sqrt(max(acc, 0.0))

    @property
    def neutral(self) -> float:
        """What a record reports when nothing is known or judged (z 0, energy 1)."""
        return 1.0 if self.output == "energy" else 0.0

    def current(self, key: str) -> float | None:
        """The key's last reported smoothed value (``output="mean"``), ``None`` if unknown."""
        st = self.state.get(key)
        return None if st is None or st[0] <= WARMUP else st[3]


class KeyGap:
    """Event time since the key's previous record over the key's typical gap.

    The typical gap is an exponentially weighted mean of past gaps (``alpha``), each capped at
    ``3 x`` the typical one so an outage does not teach the key to be silent.

    Examples
    --------
    >>> g = KeyGap(alpha=0.1)
    >>> [g.update("s7", t) for t in (0.0, 30.0, 60.0, 90.0)]
    [1.0, 1.0, 1.0, 1.0]
    >>> g.update("s7", 690.0)
    20.0
    """

    def __init__(self, alpha: float = 0.05) -> None:
        self.alpha = alpha
        self.state: OrderedDict[str, list[float]] = OrderedDict()  # key -> [n, last t, gap]

    def update(self, key: str, t: float) -> float:
        """Gap ratio of this record (1.0 for a key's first two records), then learn it."""
        st = self.state.get(key)
        if st is None:
            _bounded(self.state, key, [1.0, t, 0.0])
            return 1.0
        n, last, typical = st
        gap = max(t - last, 0.0)
        if n < 2 or typical <= 0:
            _bounded(self.state, key, [n + 1, max(t, last), gap])
            return 1.0
        ratio = gap / typical
        a = max(self.alpha, 1.0 / (n + 1))
        typical += a * (min(gap, 3.0 * typical) - typical)
        _bounded(self.state, key, [n + 1, max(t, last), typical])
        return ratio


class GroupAgreement:
    """How strongly two members of one group deviate together, in their own units.

    Every key is a numeric id; ``groups`` maps a group name to inclusive id ranges. Each
    member keeps a smoothed z (:class:`KeyZScore`, ``output="mean"``); a record reports the
    second-highest smoothed z among its group's members seen within ``stale`` seconds when
    that is positive, or the second-lowest when that is negative (the larger in magnitude):
    one deviating member scores about 0, two together score their common shift. A key in no
    group reports 0.

    Examples
    --------
    >>> g = GroupAgreement({"pump-1": [(0, 3)]}, alpha=0.05, smooth=0.2)
    >>> for i in range(100):
    ...     for s in range(4):
    ...         _ = g.update(str(s), 50.0 + (-1) ** (i + s), 30.0 * i + s)
    >>> one = [g.update("0", 53.0, 3000.0 + 30 * i) for i in range(6)]
    >>> two = [g.update(s, 53.0, 3200.0 + 30 * i) for i in range(6) for s in ("0", "1")]
    >>> round(one[-1], 1), round(two[-1], 1)
    (0.1, 1.2)
    """

    def __init__(
        self,
        groups: Mapping[str, Sequence[tuple[float, float]]],
        alpha: float = 0.05,
        smooth: float = 0.1,
        stale: float = math.inf,
        spread_alpha: float | None = None,
    ) -> None:
        self.ranges = sorted((lo, hi, name) for name, rs in groups.items() for lo, hi in rs)
        self.z = KeyZScore(alpha, spread_alpha, smooth, "mean")
        self.stale = stale
        self.latest: dict[str, dict[str, tuple[float, float]]] = {}  # group -> key -> (t, zmean)

    def group_of(self, key: str) -> str | None:
        """The group holding numeric id ``key`` (``None``: not a number or in no range)."""
        try:
            ident = float(key)
        except ValueError:
            return None
        for lo, hi, name in self.ranges:
            if lo <= ident <= hi:
                return name
        return None

    def update(self, key: str, value: float, t: float) -> float:
        """The group's agreement after this record, then learn it."""
        zmean = self.z.update(key, value)
        group = self.group_of(key)
        if group is None:
            return 0.0
        members = self.latest.setdefault(group, {})
        members[key] = (t, zmean)
        values = sorted(z for when, z in members.values() if t - when <= self.stale)
        if len(values) < 2:
            return 0.0
        high, low = max(values[-2], 0.0), min(values[1], 0.0)
        return high if high >= -low else low

    def snapshot(self) -> dict[str, Any]:
        return {"z": list(self.z.state.items()), "latest": self.latest}

    def restore(self, blob: dict[str, Any]) -> None:
        self.z.state = OrderedDict((k, list(v)) for k, v in blob.get("z", []))
        self.latest = {
            g: {k: tuple(v) for k, v in m.items()} for g, m in blob.get("latest", {}).items()
        }


class Novelty:
    """``1 / (1 + n)``: how new a category is, ``n`` its decayed count before this record
    (0 once ``n >= SEEN``).

    Counts decay with ``half_life`` seconds of event time (``inf``: never), so a value unseen
    for hours becomes novel again. Values are compared as stripped, case-folded text.

    Examples
    --------
    >>> nov = Novelty(half_life=3600.0)
    >>> [round(nov.update("INFO", t), 3) for t in (0.0, 1.0, 2.0)]
    [1.0, 0.5, 0.333]
    >>> nov.update("FATAL", 3.0), round(nov.update("info", 3.0), 2)
    (1.0, 0.25)
    >>> [nov.update("INFO", 4.0 + t) for t in range(10)][-1]
    0.0
    """

    def __init__(self, half_life: float = math.inf, max_values: int = 10_000) -> None:
        self.rate = 0.0 if math.isinf(half_life) else math.log(2) / half_life
        self.max_values = max_values
        self.counts: OrderedDict[str, list[float]] = OrderedDict()  # value -> [count, t]

    def update(self, value: Any, t: float) -> float:
        """Novelty of ``value`` at event time ``t``, then count it."""
        text = str(value).strip().casefold()
        count, when = self.counts.get(text, (0.0, t))
        if self.rate and t > when:
            count *= math.exp(-self.rate * (t - when))
        self.counts[text] = [count + 1.0, max(t, when)]
        self.counts.move_to_end(text)
        if len(self.counts) > self.max_values:
            self.counts.popitem(last=False)
        return 1.0 / (1.0 + count) if count < SEEN else 0.0


class Aliases:
    """Spellings of categories mapped to a canonical name (case-insensitive).

    Examples
    --------
    >>> a = Aliases({"WARNING": ["WARN", "warn"], "CRITICAL": ["FATAL", "panic", "emerg"]})
    >>> a.canonical("Warn"), a.canonical("WARNING"), a.canonical("Panic"), a.canonical("TRACE")
    ('WARNING', 'WARNING', 'CRITICAL', 'TRACE')
    >>> a.known("trace"), a.known("fatal")
    (False, True)
    """

    def __init__(self, mapping: Mapping[str, Iterable[str]]) -> None:
        self.names: dict[str, str] = {}
        for canonical, variants in mapping.items():
            for text in (canonical, *variants):
                self.names[str(text).strip().casefold()] = str(canonical)

    def canonical(self, raw: Any) -> str:
        """The canonical name of ``raw``, or ``raw`` as text when it is no known spelling."""
        text = str(raw)
        return self.names.get(text.strip().casefold(), text)

    def known(self, raw: Any) -> bool:
        """Whether ``raw`` is a known spelling (or canonical name)."""
        return str(raw).strip().casefold() in self.names
