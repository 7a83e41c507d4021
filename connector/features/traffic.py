"""Per-key traffic ops of a window: rates over time, over-dispersed counts, silences, shifts.

The ops of :mod:`connector.features.keys` judge a window against a key's usual window. These
judge what a key's *traffic* does over time, for keys of very different volumes:

- ``key_first``: 1 in the first window of a key first seen after the stream's first
  :data:`~connector.features.keys.NEW_WINDOWS` windows, else 0: a new key is news once, not
  for ten windows (a benign new service pair is flagged at most once);
- ``key_recent``: the key's records over about the last :data:`RECENT_SPAN` seconds (a
  time-decayed sum of an earlier count, this window included): a sustained moderate rate
  (one review every 15 s for 8 minutes) builds up where a one-minute window sees little;
- ``key_rate_surprise``: signed root of the Poisson deviance of an earlier count against the
  key's usual rate over time (records per second, time-decayed over :data:`RATE_SPAN`
  seconds, silent time included), times the window size: for sparse keys such as movies,
  whose windows exist only when they have records;
- ``key_shift``: how far an earlier *mean* aggregate is from the key's usual mean, in
  standard errors of a window of that many records (``sqrt(n)`` times the difference over
  the key's per-record spread; ``n`` is the window's first ``count`` aggregate): a review
  bomb of ratings of 1 on a movie rated 7, or flows ten times their pair's usual size;
- ``key_dispersed``: like ``key_surprise``, divided by the square root of the key's own
  dispersion (squared Pearson residuals, averaged): counts that vary more than Poisson
  (daily swings, bursty clients) do not make busy keys look odd more often than quiet ones;
- ``key_flows``: a hurdle model of a count that may pause. A window with records is judged as
  ``key_dispersed`` against the key's usual *active* window; a silent one by how unlikely
  this silence is, so far, for this key: the first silent window by the larger of the key's
  own rate of falling silent and the Poisson chance of zero, each further one by the key's
  own chance of staying silent (learned from its past silences, taken when a silence ends,
  so the silence being judged is not learned while it lasts; a key never silent for long
  stays silent as rarely as it falls silent; no window costs more than the Poisson chance
  of zero, over the key's dispersion). An hourly batch pair that is
  silent 55 minutes an hour is silent as usual; a busy pair silent for 3 minutes is not.

State lives in the key's ``usual`` dict (see :class:`~connector.features.keys.KeyState`) under
``<aggregate name>.<slot>``, so it is snapshotted with the key. As in ``keys``, baselines move
at a window's first emission only; a late update is judged against the same baselines.
"""

from __future__ import annotations

import math
from typing import Any

from connector.features.keys import SURPRISE_STEP, USUAL_ALPHA, surprise

__all__ = [
    "COMPARING_OPS",
    "DISPERSION_ALPHA",
    "RATE_SPAN",
    "RECENT_SPAN",
    "TRAFFIC_OPS",
    "traffic_value",
]

TRAFFIC_OPS = (
    "key_first",
    "key_recent",
    "key_rate_surprise",
    "key_shift",
    "key_dispersed",
    "key_flows",
)
COMPARING_OPS = TRAFFIC_OPS[1:]  # these name an earlier aggregate in ``field``
RECENT_SPAN = 300.0  # key_recent: seconds of history a record keeps counting for (1/e)
RATE_SPAN = 3600.0  # key_rate_surprise: memory of a key's usual rate over time
RATE_FLOOR = 0.05  # key_rate_surprise: expected count never below this (one record is no news)
DISPERSION_ALPHA = 0.05  # weight of the newest window in a key's dispersion
RESIDUAL_CLIP = 25.0  # one window moves the dispersion by at most this squared residual
SHIFT_WINDOWS = 10  # key_shift: windows with records a key needs before it is judged
SHIFT_ALPHA = 0.05
TRANSITIONS_MAX = 1000.0  # key_flows: talk/silence transition counts are halved beyond this


def traffic_value(
    agg: Any,
    values: dict[str, float],
    frozen: dict[str, float],
    live: dict[str, float],
    *,
    age: int,
    start: float,
    size: float,
    step: float,
    first_emission: bool,
    novel: bool,
    count_name: str | None = None,
) -> float:
    """The value of traffic op ``agg.op`` for one window.

    ``values`` holds the window's earlier aggregates; ``frozen`` the key's baselines before
    this window (kept from its first emission); ``live`` the key's baselines, moved on when
    ``first_emission``; ``count_name`` the window's first ``count`` aggregate (``key_shift``).

    Examples
    --------
    A reviewer posting every 15 s builds up ``key_recent`` over the minutes:

    >>> from types import SimpleNamespace as A
    >>> recent, live = A(op="key_recent", name="recent", field="n"), {}
    >>> built = [traffic_value(recent, {"n": 4.0}, dict(live), live, age=i, start=30.0 * i,
    ...     size=60.0, step=30.0, first_emission=True, novel=False) for i in range(16)]
    >>> [round(v) for v in built[::3]]  # minutes 0, 1.5, 3, ...: towards 2 / (1 - e^-0.1)
    [2, 7, 11, 13, 15, 17]

    A new key is news in its first window only:

    >>> first = A(op="key_first", name="new", field=None)
    >>> [traffic_value(first, {}, {}, {}, age=a, start=0.0, size=60.0, step=60.0,
    ...     first_emission=True, novel=True) for a in (0, 1)]
    [1.0, 0.0]
    """
    op = agg.op
    if op == "key_first":
        return 1.0 if novel and age == 0 else 0.0
    value = values.get(agg.field, 0.0)
    slot = f"{agg.name}."
    if op == "key_recent":
        return _recent(value, slot, frozen, live, start, step / size, first_emission)
    if op == "key_rate_surprise":
        return _rate_surprise(value, slot, frozen, live, start, size, step, first_emission)
    if op == "key_shift":
        n = values.get(count_name or "", 0.0)
        return _shift(value, n, slot, frozen, live, first_emission)
    if op == "key_dispersed":
        return _dispersed(value, slot, frozen, live, age, first_emission)
    if op == "key_flows":
        return _flows(value, slot, frozen, live, age, start, step, first_emission)
    raise ValueError(f"unknown traffic op {op!r}")


def _recent(
    count: float, slot: str, frozen: dict, live: dict, start: float, share: float, first: bool
) -> float:
    """Time-decayed records of the key: each record counts ``share`` in each window it is in."""
    before, when = frozen.get(slot + "n", 0.0), frozen.get(slot + "t")
    decay = 0.0 if when is None else math.exp(-max(0.0, start - when) / RECENT_SPAN)
    value = before * decay + count * share
    if first:
        live[slot + "n"], live[slot + "t"] = value, start
    return value


def _rate_surprise(
    count: float, slot: str, frozen: dict, live: dict, start: float, size: float,
    step: float, first: bool,
) -> float:
    """Count against the key's time-decayed rate (records per second, silences included)."""
    when = frozen.get(slot + "t")
    if when is None:  # the key's first window: no rate yet
        if first:
            live[slot + "n"], live[slot + "e"], live[slot + "t"] = count * step / size, 0.0, start
        return 0.0
    decay = math.exp(-max(0.0, start - when) / RATE_SPAN)
    records = frozen.get(slot + "n", 0.0) * decay
    exposure = frozen.get(slot + "e", 0.0) * decay + RATE_SPAN * (1.0 - decay)
    value = 0.0
    if exposure > 0.0:
        value = _poisson_root(count, max(RATE_FLOOR, records / exposure * size))
    if first:
        live[slot + "n"] = records + count * step / size
        live[slot + "e"], live[slot + "t"] = exposure, start
    return value


def _poisson_root(value: float, mean: float) -> float:
    """Signed root of the Poisson deviance of ``value`` against ``mean`` (> 0)."""
    deviance = 2.0 * mean if value <= 0.0 else 2.0 * (value * math.log(value / mean) - value + mean)
    return math.copysign(math.sqrt(max(deviance, 0.0)), value - mean)


def _shift(mean: float, n: float, slot: str, frozen: dict, live: dict, first: bool) -> float:
    """Window mean against the key's usual mean, in standard errors of ``n`` records."""
    if n <= 0.0:
        return 0.0
    windows = frozen.get(slot + "w", 0.0)
    usual, spread = frozen.get(slot + "m", mean), frozen.get(slot + "v", 0.0)
    value = 0.0
    if windows >= SHIFT_WINDOWS and spread > 0.0:
        value = (mean - usual) * math.sqrt(n / spread)
    if first:
        alpha = max(SHIFT_ALPHA, 1.0 / (windows + 1.0))
        square = n * (mean - usual) ** 2  # an estimate of the per-record variance
        if windows >= SHIFT_WINDOWS:
            square = min(square, RESIDUAL_CLIP * spread)  # one odd window barely moves it
        live[slot + "m"] = usual + alpha * (mean - usual)
        live[slot + "v"] = spread + alpha * (square - spread)
        live[slot + "w"] = windows + 1.0
    return value


def _dispersed(
    count: float, slot: str, frozen: dict, live: dict, age: int, first: bool
) -> float:
    """``key_surprise`` over the square root of the key's own dispersion."""
    usual = frozen.get(slot + "u")
    dispersion = max(1.0, frozen.get(slot + "d", 1.0))
    if usual is None or age <= 1:  # no baseline yet, or the first window was partial
        if first:
            live[slot + "u"] = count
        return 0.0
    if first:
        _learn(count, usual, slot, frozen, live)
    return surprise(count, usual) / math.sqrt(dispersion)


def _learn(count: float, usual: float, slot: str, frozen: dict, live: dict) -> None:
    """Move the usual count (at most SURPRISE_STEP deviations) and the dispersion."""
    dispersion = frozen.get(slot + "d", 1.0)
    residual = min(RESIDUAL_CLIP, (count - usual) ** 2 / max(usual, 0.5))
    limit = SURPRISE_STEP * math.sqrt(dispersion * (usual + 1.0))
    live[slot + "u"] = usual + USUAL_ALPHA * max(-limit, min(limit, count - usual))
    live[slot + "d"] = dispersion + DISPERSION_ALPHA * (residual - dispersion)


def _flows(
    count: float, slot: str, frozen: dict, live: dict, age: int, start: float, step: float,
    first: bool,
) -> float:
    """Hurdle: an active window against the usual active one; a silence by its likelihood."""
    last_talk = frozen.get(slot + "lt")
    # silent windows since the key's last window with records (emitted or not)
    silent_for = 0.0 if last_talk is None else max(0.0, round((start - last_talk) / step) - 1.0)
    if count > 0.0:
        if first:
            _end_silence(silent_for, slot, frozen, live)
            live[slot + "lt"] = start
        return _dispersed(count, slot, frozen, live, age, first)
    usual = frozen.get(slot + "u")
    if usual is None or age <= 1:
        return 0.0
    talk = frozen.get(slot + "tt", 0.0) + frozen.get(slot + "ts", 0.0)
    falls_silent = (frozen.get(slot + "ts", 0.0) + 0.5) / (talk + 1.0)
    poisson_zero = usual / max(1.0, frozen.get(slot + "d", 1.0))  # -log P(0), dispersed
    nats = min(-math.log(falls_silent), poisson_zero)
    if silent_for > 0.0:  # a key never seen silent for long stays silent as rarely as it
        pause = frozen.get(slot + "ss", 0.0) + frozen.get(slot + "st", 0.0)  # falls silent
        stays = (frozen.get(slot + "ss", 0.0) + falls_silent) / (pause + 1.0)
        nats += silent_for * min(-math.log(stays), poisson_zero)
    return -math.sqrt(2.0 * nats)


def _end_silence(silent_for: float, slot: str, frozen: dict, live: dict) -> None:
    """Count the transitions of the silence that just ended (or of one more talking window)."""
    counts = {t: frozen.get(slot + t, 0.0) for t in ("tt", "ts", "ss", "st")}
    if silent_for > 0.0:
        counts["ts"] += 1.0
        counts["ss"] += silent_for - 1.0
        counts["st"] += 1.0
    else:
        counts["tt"] += 1.0
    for a, b in (("tt", "ts"), ("ss", "st")):
        if counts[a] + counts[b] > TRANSITIONS_MAX:
            counts[a], counts[b] = counts[a] / 2.0, counts[b] / 2.0
    for t, n in counts.items():
        live[slot + t] = n
