"""What a window aggregator remembers per key, and the aggregates computed from it.

A :class:`KeyState` is one key's history: when it was first and last seen, its key fields,
how many windows it had (and how many of them held records), and its *usual* values (the
baselines of ``key_ratio`` and ``key_surprise``). The per-key aggregate ops read it:

- ``key_age``: windows the key had before this one, capped at :data:`MAX_AGE`;
- ``key_novelty``: ``1 - age / NEW_WINDOWS`` for a key first seen after the stream's first
  :data:`NEW_WINDOWS` windows, else 0 (when the connector starts, every key is new to it:
  only a key that appears later is news);
- ``key_ratio``: ``log((v + 1) / (usual + 1))`` of an earlier aggregate against the key's
  usual value (an EWMA);
- ``key_surprise``: the signed square root of the Poisson deviance of an earlier count
  against the key's usual count: about a standard normal value for a count as usual, so one
  model can judge pairs of any volume (10 000 flows a minute dropping to 9 000 is not the
  same news as 10 dropping to 9). Its baseline is taken from the key's second window (the
  first is usually partial: the key appeared mid-window) and moves by at most
  :data:`SURPRISE_STEP` standard deviations a window, so a three-minute outage or burst does
  not become the key's usual while it lasts;
- ``key_scaled_surprise``: ``key_surprise`` divided by the key's own spread of it (the root
  of an EWMA of its squares, at least 1): counts that arrive in bunches (traffic lights, batch jobs)
  vary more than a Poisson count, and a busy key would otherwise flag for ordinary bunching.
  A silent window (one a ``missing:`` policy filled) is judged as the whole silence so far
  (``-sqrt(2 usual n)`` for ``n`` silent windows: how unlikely this long a silence is). Its
  baseline and spread do not move on a silent window, so a long silence never becomes the
  key's usual and its return is not a surge, nor while
  the recent windows are far from usual (a protect bounded to :data:`HOLD_WINDOWS` windows,
  so a ramp or a lasting change is followed again);
- ``key_evidence``: evidence accumulated over consecutive windows: an EWMA (weight
  :data:`EVIDENCE_ALPHA`) of an earlier aggregate (usually a ``key_scaled_surprise``),
  divided by its standard deviation for independent standard normal inputs, so it is about standard
  normal too while the key is as usual, and a key that stays silent or halved keeps building
  it (-1.7, -3.0, -3.8 ... for a repeated -2.45) instead of being judged window by window.

A baseline moves on at a window's first emission only; a late update of the window is
compared with the baseline the window was first compared with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EVIDENCE_ALPHA",
    "KEY_OPS",
    "MAX_AGE",
    "NEW_WINDOWS",
    "SURPRISE_STEP",
    "USUAL_ALPHA",
    "KeyState",
    "key_value",
    "settle",
    "surprise",
]

KEY_OPS = (
    "key_age", "key_novelty", "key_ratio", "key_surprise", "key_scaled_surprise", "key_evidence"
)
MAX_AGE = 60  # key_age saturates: only "new" versus "established" matters to the model
NEW_WINDOWS = 10  # key_novelty: a new key fades to established over this many windows
USUAL_ALPHA = 0.1  # weight of the newest window in the key's usual value
SURPRISE_STEP = 3.0  # key_surprise: the usual moves by at most this many sqrt(usual + 1)
EVIDENCE_ALPHA = 0.3  # key_evidence: weight of the newest window (about 3 windows of memory)
SPREAD_CLIP = 3.0  # key_scaled_surprise: a window moves the spread as if at most this far out
EVIDENCE_CLIP = 4.0  # key_evidence: a window adds at most this much (its tail stays short)
EVIDENCE_SPREAD_ALPHA = 0.02  # key_evidence: weight of a window in the key's spread of it
HOLD_Z = 2.5  # key_scaled_surprise: the usual holds while the recent evidence is beyond this
HOLD_WINDOWS = 60  # ... for at most this many windows in a row
SETTLED = 30  # ... once the key has had this many windows (before, its spread is unknown)
_EWMA_SD = math.sqrt(EVIDENCE_ALPHA / (2.0 - EVIDENCE_ALPHA))  # sd of the EWMA of N(0, 1)
_FLOOR = 0.5  # a usual count of 0 is read as 0.5: a count never seen is not impossible


@dataclass(slots=True)
class KeyState:
    """One key's history (kept in the aggregator's snapshot as a list)."""

    first: float  # start of its first window
    last: float  # start of its last window with records
    fields: dict[str, Any]
    windows: int = 0  # windows emitted so far
    usual: dict[str, float] = field(default_factory=dict)
    talked: int = 0  # windows emitted so far that held records
    previous: dict[str, float] = field(default_factory=dict)  # last window with records

    def to_list(self) -> list[Any]:
        return [self.first, self.last, self.fields, self.windows, self.usual, self.talked,
                self.previous]

    @classmethod
    def from_list(cls, raw: list[Any]) -> KeyState:
        """From :meth:`to_list` (snapshots before ``talked`` lack it: windows are taken;
        before ``previous``, it is empty)."""
        first, last, fields, windows, usual, *rest = raw
        talked = rest[0] if rest else windows
        return cls(first, last, fields, windows, usual, talked, rest[1] if len(rest) > 1 else {})


def surprise(value: float, usual: float) -> float:
    """Signed root of the Poisson deviance of ``value`` against a usual count ``usual``.

    About standard normal for a Poisson count with mean ``usual``; negative below it.

    Examples
    --------
    >>> round(surprise(0.0, 50.0), 2), round(surprise(15.0, 50.0), 2), surprise(50.0, 50.0)
    (-10.0, -5.82, 0.0)
    >>> round(surprise(30.0, 3.0), 2), round(surprise(9.0, 3.0), 2)
    (9.17, 2.79)
    """
    usual = max(usual, _FLOOR)
    if value <= 0.0:
        deviance = 2.0 * usual
    else:
        deviance = 2.0 * (value * math.log(value / usual) - (value - usual))
    return math.copysign(math.sqrt(max(deviance, 0.0)), value - usual)


def key_value(
    op: str, name: str, value: float, frozen: dict[str, float], state: KeyState | None,
    age: int, first_emission: bool, novel: bool, silent: float = 0.0,
) -> float:
    """The value of key op ``op`` for a window (``value``: the aggregate it compares).

    ``frozen`` holds the baselines the window is compared with (taken at its first
    emission); ``state.usual`` moves on when ``first_emission`` (``key_scaled_surprise``'s
    not when ``silent``: the number of windows the key has been silent, this one included,
    when a ``missing:`` policy filled it; its surprise is then that of the whole silence).

    Examples
    --------
    >>> st = KeyState(0.0, 0.0, {})
    >>> [round(key_value("key_surprise", "n", v, dict(st.usual), st, age, True, False), 2)
    ...  for age, v in enumerate([4.0, 50.0, 50.0, 0.0])]  # baseline from the 2nd window
    [0.0, 0.0, 0.0, -10.0]
    >>> round(st.usual["surprise:n"], 2)  # the outage moved it by 3 sqrt(51) / 10 only
    47.86
    >>> key_value("key_novelty", "", 0.0, {}, st, 3, True, True)
    0.7
    """
    if op == "key_age":
        return float(min(age, MAX_AGE))
    if op == "key_novelty":
        return max(0.0, 1.0 - age / NEW_WINDOWS) if novel else 0.0
    live = state.usual if state is not None else {}
    if op == "key_scaled_surprise":
        return _scaled_surprise(name, value, frozen, live, age, first_emission and not silent,
                                silent)
    if op == "key_evidence":
        return _evidence(name, value, frozen, live, first_emission, silent)
    if op == "key_ratio":
        # log((value + 1) / (usual + 1)): 0 when as usual, < 0 for a drop, > 0 for a surge
        usual = frozen.get(name, value)
        if first_emission:
            live[name] = usual + USUAL_ALPHA * (value - usual)
        return math.log((value + 1.0) / (usual + 1.0))
    slot = f"surprise:{name}"
    usual = frozen.get(slot)
    if usual is None or age <= 1:  # no baseline yet, or the first window was partial
        if first_emission:
            live[slot] = value
        return 0.0
    if first_emission:
        limit = SURPRISE_STEP * math.sqrt(usual + 1.0)
        live[slot] = usual + USUAL_ALPHA * max(-limit, min(limit, value - usual))
    return surprise(value, usual)


def _scaled_surprise(
    name: str, value: float, frozen: dict[str, float], live: dict[str, float], age: int,
    moves: bool, silent: float = 0.0,
) -> float:
    """``key_scaled_surprise``: the Poisson surprise against the usual, in the key's spread.

    Examples
    --------
    >>> live: dict[str, float] = {}
    >>> [round(_scaled_surprise("n", v, dict(live), live, age, True), 2)
    ...  for age, v in enumerate([4.0, 50.0, 50.0, 70.0, 30.0])]
    [0.0, 0.0, 0.0, 2.67, -2.69]
    >>> round(live["spread:n"], 2)  # the mean square of the surprise, moved by 2.67 and -3.3
    2.47
    """
    slot, spread_slot = f"dev:{name}", f"spread:{name}"
    usual = frozen.get(slot)
    if usual is None or age <= 1:  # no baseline yet, or the first window was partial
        if moves:
            live[slot] = value
        return 0.0
    raw = surprise(value, usual)
    if silent and value <= 0.0:  # the whole silence so far: how unlikely this long a one is
        raw = -math.sqrt(2.0 * max(usual, _FLOOR) * silent)
    spread = math.sqrt(max(1.0, frozen.get(spread_slot, 1.0)))
    scaled = raw / spread
    if moves:
        # a bounded protect: while the recent windows are far from usual (an EWMA of the
        # scaled surprise beyond HOLD_Z), the usual holds, for at most HOLD_WINDOWS windows;
        # a lasting change (or a ramp) is then followed again
        recent = (1.0 - EVIDENCE_ALPHA) * frozen.get(f"hold:{name}", 0.0) + EVIDENCE_ALPHA * scaled
        live[f"hold:{name}"] = recent
        held = frozen.get(f"held:{name}", 0.0)
        far = age >= SETTLED and abs(recent) / _EWMA_SD > HOLD_Z
        live[f"held:{name}"] = min(held + 1.0, float(HOLD_WINDOWS)) if far else 0.0
        if far and held < HOLD_WINDOWS:
            return scaled  # held: this window does not move the usual
        limit = SURPRISE_STEP * math.sqrt(usual + 1.0)
        live[slot] = usual + USUAL_ALPHA * max(-limit, min(limit, value - usual))
        square = min(raw * raw, SPREAD_CLIP * SPREAD_CLIP * max(1.0, frozen.get(spread_slot, 1.0)))
        old = frozen.get(spread_slot, 1.0)
        live[spread_slot] = old + USUAL_ALPHA * (square - old)
    return scaled


def _evidence(
    name: str, value: float, frozen: dict[str, float], live: dict[str, float], moves: bool,
    silent: bool = False,
) -> float:
    """``key_evidence``: an EWMA of ``value`` over the key's windows, in its own spread.

    The EWMA is divided by its standard deviation for independent standard normal inputs,
    then by the key's own spread of that (the root of an EWMA of its squares, weight
    :data:`EVIDENCE_SPREAD_ALPHA`, at least 1; windows beyond :data:`SPREAD_CLIP` spreads or
    of a silent key leave it; an input counts as at most :data:`EVIDENCE_CLIP`, so the
    evidence of a huge but short event fades in a few windows): consecutive windows of one
    station are not independent (traffic lights), so the evidence of a normal key has wider
    tails than the theory's.

    Examples
    --------
    >>> live: dict[str, float] = {}
    >>> [round(_evidence("z", v, dict(live), live, True), 2) for v in (-2.45,) * 4 + (0.0,)]
    [-1.75, -2.91, -3.5, -4.05, -2.84]
    """
    slot, spread_slot = f"ev:{name}", f"evspread:{name}"
    value = max(-EVIDENCE_CLIP, min(EVIDENCE_CLIP, value))  # a huge window: news, briefly
    level = (1.0 - EVIDENCE_ALPHA) * frozen.get(slot, 0.0) + EVIDENCE_ALPHA * value
    old = max(1.0, frozen.get(spread_slot, 1.0))
    standard = level / _EWMA_SD
    if moves:
        live[slot] = level
        if not silent and standard * standard < SPREAD_CLIP * SPREAD_CLIP * old:
            live[spread_slot] = old + EVIDENCE_SPREAD_ALPHA * (standard * standard - old)
    return standard / math.sqrt(old)


def settle(state: KeyState) -> None:
    """Forget the evidence accumulated by a key (its silence is reported, no longer scored):
    when it returns, its windows are judged afresh, not against the silence's evidence.

    >>> st = KeyState(0.0, 0.0, {}, usual={"ev:n": -3.0, "hold:n": -2.0, "dev:n": 20.0})
    >>> settle(st); st.usual
    {'ev:n': 0.0, 'hold:n': 0.0, 'dev:n': 20.0}
    """
    for slot in state.usual:
        if slot.startswith(("ev:", "hold:", "held:")):
            state.usual[slot] = 0.0
