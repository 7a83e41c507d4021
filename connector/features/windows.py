"""Per-key event-time windows (tumbling or sliding) with allowed lateness.

Lifecycle of a window ``[start, end)``, driven by the watermark (the highest event time seen,
or a later time given to :meth:`WindowAggregator.advance`):

1. records whose event time falls inside it are folded into its aggregates;
2. when the watermark reaches ``end`` it is emitted (returned from ``add``/``advance``);
3. until the watermark reaches ``end + allowed_lateness`` it is kept: a late record updates it
   and it is emitted again at once, with the same ``_id`` (pipeline + key + start), so the
   document is updated rather than duplicated;
4. after that it is forgotten; a record later still is dropped (counted in ``dropped``) or, with
   ``late_policy: reject``, raises :class:`~connector.errors.RecordRejected`.

With a ``missing:`` policy (or the older ``emit_empty``), a key that has had ``empty_after``
windows with records gets a window while it is silent (for ``empty_ttl`` windows), filled with
zero, its previous window's aggregates or a fixed value (``spec.fill``), so "a station stops
reporting" is a document, not an absence; its document says ``silent: true`` and ``silent_s``
(seconds since its last window with records ended). After ``missing.score_for`` of silence its
per-key aggregates are 0: the silence was news once, then it is only reported. The windows a
drain emits (the input ended inside them) say ``partial: true`` and their per-key aggregates
are 0 too: a window cut short by the end of the input is no drop. When event time stops for
every key (the end of a file: the drain's :meth:`WindowAggregator.advance` to infinity) no
silent window is made, so the end of the input is never an outage. What is kept per key, and
the per-key aggregates (``key_age``, ``key_novelty``, ``key_ratio``, ``key_surprise``,
``key_deviation``, ``key_evidence``), live in :mod:`connector.features.keys`.

Replays are idempotent: the highest offset folded in per partition is remembered (and kept in
the snapshot) and records at or below it are skipped. :meth:`WindowAggregator.open_positions`
gives, per partition, the lowest offset still held by a kept window: commit below it only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector.errors import RecordRejected
from connector.features.aggregates import Accumulator, make_accumulator
from connector.features.extract import get_field
from connector.features.keys import KEY_OPS, NEW_WINDOWS, KeyState, key_value, settle
from connector.features.spec import Aggregate, WindowSpec
from connector.features.traffic import TRAFFIC_OPS, traffic_value
from connector.features.window_snapshot import dump, load

__all__ = ["Position", "Window", "WindowAggregator"]

Position = tuple[str, int, int]  # (topic, partition, offset)


@dataclass(slots=True)
class Window:
    """One emitted window: features in order, the document to index, the records it holds."""

    key: str | None
    start: datetime
    end: datetime
    features: dict[str, float]
    document: dict[str, Any]
    positions: tuple[Position, ...] = ()
    revision: int = 0  # 0 on first emission, +1 per late update

    def doc_id(self, pipeline: str) -> str:
        """``<pipeline>+<key>+<window start epoch ms>``, stable across updates and replays."""
        return f"{pipeline}+{self.key or ''}+{round(self.start.timestamp() * 1000)}"


@dataclass(slots=True)
class _Open:
    key: str | None
    start: float
    fields: dict[str, Any]
    accs: list[Accumulator]
    positions: list[Position] = field(default_factory=list)
    emitted: int = -1  # revision last emitted; -1 = not yet
    age: int = 0  # windows of this key emitted before this one
    usual: dict[str, float] | None = None  # the key's baselines before this window
    empty: bool = False  # made for a silent key (no records when first emitted)


class WindowAggregator:
    """Fold prepared records into per-key windows and emit them on event time.

    Parameters
    ----------
    spec
        The pipeline's :class:`~connector.config.WindowSpec`.
    features
        Output feature order (default: the aggregate names).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from types import SimpleNamespace as P
    >>> from connector.features.spec import Aggregate, KeySpec, WindowSpec
    >>> spec = WindowSpec("tumbling", 10.0, 10.0, 5.0, "drop",
    ...                   (Aggregate("count", "count"),), KeySpec(("toll",)))
    >>> agg = WindowAggregator(spec)
    >>> def rec(t, toll="Exit79"):
    ...     return P(document={"toll": toll}, features={}, key=toll,
    ...              timestamp=datetime.fromtimestamp(t, tz=UTC))
    >>> agg.add(rec(100.0), ("tolls", 0, 0)) + agg.add(rec(103.0), ("tolls", 0, 1))
    []
    >>> [(w.key, w.features, w.revision) for w in agg.add(rec(110.5), ("tolls", 0, 2))]
    [('Exit79', {'count': 2.0}, 0)]
    >>> agg.open_positions()
    {('tolls', 0): 0}
    >>> [(w.features, w.revision) for w in agg.add(rec(104.0), ("tolls", 0, 3))]  # late
    [({'count': 3.0}, 1)]
    """

    def __init__(self, spec: WindowSpec, features: list[str] | None = None) -> None:
        self.spec = spec
        self.names = list(features or spec.features or [a.name for a in spec.aggregates])
        self._ops = {a.name: a for a in spec.aggregates}
        self._count = next((a.name for a in spec.aggregates if a.op == "count"), None)
        missing = [n for n in self.names if n not in self._ops]
        if missing:
            raise ValueError(f"features not produced by the window: {', '.join(missing)}")
        self._open: dict[tuple[str | None, float], _Open] = {}
        self._keys: dict[str | None, KeyState] = {}
        self._origin: float | None = None  # the stream's first window start (key_novelty)
        self._hwm: dict[tuple[str, int], int] = {}
        self.watermark = -math.inf
        self._next_empty: float | None = None
        self.dropped = 0

    def add(self, prepared: Any, position: Position | None = None) -> list[Window]:
        """Fold one record in; returns windows that closed or were updated by it."""
        if position is not None:
            tp = (position[0], position[1])
            if position[2] <= self._hwm.get(tp, -1):
                return []  # already folded in before a restart: a replay
            self._hwm[tp] = position[2]
        ts = prepared.timestamp.timestamp()
        fields = {f: get_field(prepared.document, f, None) for f in self.spec.key.fields}
        starts = self._starts(ts)
        live = [
            s for s in starts if s + self.spec.size + self.spec.allowed_lateness > self.watermark
        ]
        if not live:
            return self._late(prepared, ts)
        # windows this record's time closes come first: a silent key's windows are made
        # before its own record's window, so its silence ends where the record begins
        out: list[Window] = self.advance(ts)
        for start in live:
            win = self._open.get((prepared.key, start))
            if win is None:
                win = self._new_window(prepared.key, start, fields)
            for agg, acc in zip(self.spec.aggregates, win.accs, strict=True):
                acc.add(_value(prepared, agg))
            if position is not None:
                win.positions.append(position)
            if win.emitted >= 0 or start + self.spec.size <= self.watermark:
                out.append(self._emit(win))
        return out

    def advance(self, watermark: datetime | float) -> list[Window]:
        """Move event time forward; returns windows that closed, oldest first."""
        wm = watermark.timestamp() if isinstance(watermark, datetime) else float(watermark)
        if wm <= self.watermark:
            return []
        self.watermark = wm
        out = [
            self._emit(w, partial=wm == math.inf)  # a drain: the input ended inside them
            for w in sorted(self._open.values(), key=lambda w: w.start)
            if w.emitted < 0 and w.start + self.spec.size <= wm
        ]
        if self.spec.emit_empty and wm != math.inf:  # a drain (end of input) is no outage
            out += self._empties(wm)
        horizon = wm - self.spec.size - self.spec.allowed_lateness
        for k in [k for k, w in self._open.items() if w.start <= horizon and w.emitted >= 0]:
            del self._open[k]
        return out

    def open_positions(self) -> dict[tuple[str, int], int]:
        """Lowest offset per ``(topic, partition)`` still held by a kept window."""
        low: dict[tuple[str, int], int] = {}
        for win in self._open.values():
            for topic, partition, offset in win.positions:
                if offset < low.get((topic, partition), offset + 1):
                    low[(topic, partition)] = offset
        return low

    def snapshot(self) -> bytes:
        """Everything needed to resume, as JSON bytes (spec included).

        The format is :mod:`connector.features.window_snapshot`'s.
        """
        return dump(self)

    @classmethod
    def restore(cls, blob: bytes | str, spec: WindowSpec | None = None) -> WindowAggregator:
        """Rebuild from :meth:`snapshot` (``spec`` overrides the stored one)."""
        return load(cls, _Open, blob, spec)

    def _starts(self, ts: float) -> list[float]:
        size, step = self.spec.size, self.spec.step
        last = math.floor(ts / step) * step
        n = math.ceil(size / step)
        return [s for s in (last - i * step for i in range(n - 1, -1, -1)) if s <= ts < s + size]

    def _late(self, prepared: Any, ts: float) -> list[Window]:
        when = datetime.fromtimestamp(ts, tz=UTC).isoformat()
        mark = datetime.fromtimestamp(self.watermark, tz=UTC).isoformat()
        if self.spec.late_policy == "reject":
            raise RecordRejected(
                f"late record: event time {when} is beyond the allowed lateness of "
                f"{self.spec.allowed_lateness:g}s (watermark {mark})"
            )
        self.dropped += 1
        return []

    def _new_window(self, key: str | None, start: float, fields: dict[str, Any]) -> _Open:
        seen = self._keys.setdefault(key, KeyState(start, start, fields))
        seen.last = max(seen.last, start)
        accs = [make_accumulator(a.op) for a in self.spec.aggregates]
        win = self._open[(key, start)] = _Open(key, start, fields, accs)
        if self._next_empty is None:
            self._next_empty = start  # empty windows are considered from the first one on
        if self._origin is None:
            self._origin = start
        return win

    def _empties(self, wm: float) -> list[Window]:
        out: list[Window] = []
        spec = self.spec
        while self._next_empty is not None and self._next_empty + spec.size <= wm:
            if not self._keys:  # every key forgotten: start again from the next new key
                self._next_empty = None
                break
            start = self._next_empty
            ttl = spec.empty_ttl * spec.step
            for key, seen in list(self._keys.items()):
                if seen.last < start - ttl:
                    del self._keys[key]  # silent for too long: forget the key
                elif (
                    seen.first <= start
                    and seen.talked >= spec.empty_after
                    and (key, start) not in self._open
                ):
                    last = seen.last
                    win = self._new_window(key, start, seen.fields)
                    seen.last, win.empty = last, True  # an empty window is not a sighting
                    out.append(self._emit(win))
            self._next_empty = start + spec.step
        return out

    def _emit(self, win: _Open, partial: bool = False) -> Window:
        first_emission = win.emitted < 0
        win.emitted += 1
        seen = self._keys.get(win.key)
        filled = win.empty and not any(acc.n or acc.distinct for acc in win.accs)
        silence = win.start - seen.last if filled and seen is not None else 0.0
        reported = filled and 0.0 < self.spec.silent_score_s < silence  # no longer scored
        if reported and first_emission and seen is not None:
            settle(seen)  # when it returns, it is judged afresh
        reported = reported or partial  # a window the input ended in is no evidence
        if first_emission and seen is not None:  # age in emission (event-time) order
            win.age, win.usual = seen.windows, dict(seen.usual)
            seen.windows += 1
            seen.talked += int(not win.empty)
        novel = seen is not None and self._origin is not None and (
            seen.first >= self._origin + NEW_WINDOWS * self.spec.step
        )
        values: dict[str, float] = {}
        for a, acc in zip(self.spec.aggregates, win.accs, strict=True):
            if a.op in TRAFFIC_OPS:
                values[a.name] = 0.0 if reported else traffic_value(
                    a, values, win.usual or {}, seen.usual if seen is not None else {},
                    age=win.age, start=win.start, size=self.spec.size, step=self.spec.step,
                    first_emission=first_emission, novel=novel, count_name=self._count)
            elif a.op in KEY_OPS:
                compared = values.get(a.field or "", 0.0)
                values[a.name] = 0.0 if reported else key_value(
                    a.op, a.field or "", compared, win.usual or {}, seen, win.age,
                    first_emission, novel, silence / self.spec.step if filled else 0.0)
            else:
                values[a.name] = self._fill(a.name, seen) if filled else acc.value
        if first_emission and seen is not None and not filled:
            seen.previous = {a.name: values[a.name] for a in self.spec.aggregates
                             if a.op not in KEY_OPS}
        start = datetime.fromtimestamp(win.start, tz=UTC)
        end = datetime.fromtimestamp(win.start + self.spec.size, tz=UTC)
        document = {
            **win.fields,
            "window": {"start": _iso(start), "end": _iso(end), "size_s": self.spec.size},
            **values,
        }
        if self.spec.emit_empty:  # a key that stays silent stays visible, and says so
            document["silent"] = filled
            if filled:
                document["silent_s"] = silence
        if partial:
            document["partial"] = True
        features = {n: _model_input(values[n], self._ops[n]) for n in self.names}
        return Window(win.key, start, end, features, document, tuple(win.positions), win.emitted)


    def _fill(self, name: str, seen: KeyState | None) -> float:
        """A silent key's value of record aggregate ``name`` under the ``missing:`` policy."""
        if self.spec.fill == "value":
            return self.spec.fill_value
        if self.spec.fill == "previous" and seen is not None:
            return seen.previous.get(name, 0.0)
        return 0.0


def _model_input(value: float, agg: Aggregate) -> float:
    if agg.clip is not None:  # beyond it, more is no odder; RCF cuts in proportion to range
        value = max(-agg.clip, min(agg.clip, value))
    if agg.power != 1.0:  # spread the tails of a value in standard deviations
        value = math.copysign(abs(value) ** agg.power, value)
    return value * agg.scale


def _value(prepared: Any, agg: Aggregate) -> Any:
    if agg.field is None:
        return None
    if agg.field in prepared.features:
        return prepared.features[agg.field]
    return get_field(prepared.document, agg.field, None)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
