"""Turn a decoded record into the model's numeric features, in a stable order.

Feature kinds (see ``pipeline_schema.json``): ``numeric`` (with an optional transform:
log, log1p, sqrt, abs), ``categorical`` (ordinal index, unknown values get the next index; or
one-hot, one feature per category) and ``derived``:

- ``status_class``: HTTP status // 100 (502 -> 5);
- ``equals``: 1.0 when the field equals ``value`` (or is in a list of values), else 0.0;
- ``length``: length of the field's text;
- ``recent_count``: records whose field matches ``value`` within the last ``seconds`` of event
  time, this one included (a burst detector: 20 ERROR lines in 10 s);
- ``key_deviation``: value minus the key's exponentially weighted mean (``alpha``) before
  this record (with ``transform: log``, the log of the ratio to the key's typical value);
  ``key_change``: value minus the key's previous value; ``run_length``: how many
  consecutive records of the key carried this same value (a stuck sensor);
- per-key running state (:mod:`connector.features.running`): ``key_zscore`` (the value in
  the key's own standard deviations), ``key_zmean`` (its running mean over the key's recent
  records: a drift or shift), ``key_zenergy`` (root of the running mean of z²: a key whose
  noise grew), ``key_gap`` (event time since the key's last record over its typical gap: a
  silence shows on the returning record), ``group_zmean`` (two members of a group of keys,
  e.g. one device's sensors, deviating together) and ``novelty`` (``1 / (1 + times seen)``:
  an unseen category scores 1). ``hold`` pauses the key_z* kinds while a field says so.

``aliases`` maps spellings of a category to one name (``WARN`` and ``warning`` are
``WARNING``) before a categorical, ``equals`` or ``recent_count`` feature looks at it. An
unknown value of an ordinal categorical still gets the next index; pipelines that must not
read an unknown value as "above the last category" use ``novelty`` instead (gameday).

Every feature can be multiplied by ``scale`` (after the transform): Random Cut Forest cuts
dimensions in proportion to their range, so scale says how much a feature should weigh.

The stateful kinds keep bounded state in memory; :meth:`FeatureExtractor.snapshot` and
:meth:`FeatureExtractor.restore` carry it across restarts.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from connector.errors import RecordRejected
from connector.features.running import Aliases, GroupAgreement, KeyGap, KeyZScore, Novelty

__all__ = ["FeatureExtractor", "get_field"]

_REQUIRED = object()  # get_field: no default given
_MISSING = object()  # extract: the field is absent
_TRANSFORMS = {
    "none": lambda v: v,
    "abs": abs,
    "log": lambda v: math.log(v) if v > 0 else math.nan,
    "log1p": lambda v: math.log1p(v) if v > -1 else math.nan,
    "sqrt": lambda v: math.sqrt(v) if v >= 0 else math.nan,
}
_KEYED = ("key_deviation", "key_change", "run_length")
_RUNNING = ("key_zscore", "key_zmean", "key_zenergy", "key_gap", "group_zmean", "novelty")
_Z_OUTPUT = {"key_zscore": "z", "key_zmean": "mean", "key_zenergy": "energy"}
MAX_KEYS = 100_000  # per stateful feature; least recently seen keys are forgotten first


def get_field(document: dict[str, Any], path: str, default: Any = _REQUIRED) -> Any:
    """Look up ``a.b.c`` in nested dicts (a flat key ``"a.b"`` wins if present).

    >>> get_field({"window": {"end": 5}, "outlier.flag": True}, "window.end")
    5
    >>> get_field({"outlier.flag": True}, "outlier.flag")
    True
    >>> get_field({}, "x", None) is None
    True
    """
    if path in document:
        return document[path]
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            if default is _REQUIRED:
                raise KeyError(path)
            return default
        node = node[part]
    return node


class FeatureExtractor:
    """Compute features for one record at a time.

    Parameters
    ----------
    specs
        :class:`connector.config.FeatureSpec` items, in output order.

    Examples
    --------
    >>> from connector.config import FeatureSpec
    >>> ex = FeatureExtractor([
    ...     FeatureSpec("rt", "numeric", "response_time", transform="log1p"),
    ...     FeatureSpec("level", "categorical", "log_level", categories=("DEBUG", "INFO")),
    ...     FeatureSpec("status", "derived", "status_code", derive="status_class"),
    ... ])
    >>> ex.names
    ['rt', 'level', 'status']
    >>> ex.extract({"response_time": 0.5, "log_level": "INFO", "status_code": 502})
    {'rt': 0.405..., 'level': 1.0, 'status': 5.0}
    >>> ex.extract({"response_time": "slow", "log_level": "INFO", "status_code": 200})
    Traceback (most recent call last):
    ...
    connector.errors.RecordRejected: wrong type: field 'response_time' must be a number, got 'slow'
    """

    def __init__(self, specs: Sequence[Any]) -> None:
        self.specs = tuple(specs)
        self.names = [n for s in self.specs for n in s.output_names]
        self._state: dict[str, Any] = {s.name: OrderedDict() for s in self.specs}
        self._recent: dict[str, deque[float]] = {s.name: deque() for s in self.specs}
        # recent_count: an upper bound of the kept times; at or below ``now``, all are counted
        self._latest: dict[str, float] = dict.fromkeys(self._recent, -math.inf)
        self._aliases = {s.name: Aliases(dict(s.aliases)) for s in self.specs if s.aliases}
        self._options = {
            s.name: _Options(s.value, self._aliases.get(s.name))
            for s in self.specs
            if s.kind == "derived"
        }
        self._running = {s.name: _running(s) for s in self.specs if s.derive in _RUNNING}
        self._holds = {s.name: _Options(list(s.hold[1])) for s in self.specs if s.hold}

    def extract(
        self, document: dict[str, Any], key: str | None = None, at: datetime | None = None
    ) -> dict[str, float]:
        """Features of ``document`` (``key`` and event time ``at`` feed stateful kinds)."""
        out: dict[str, float] = {}
        for spec in self.specs:
            raw = get_field(document, spec.field, _MISSING)
            if raw is _MISSING or raw is None:
                if spec.default is None and not _tolerates_missing(spec):
                    raise RecordRejected(f"missing field '{spec.field}' (feature '{spec.name}')")
                if spec.default is not None:
                    out.update(dict.fromkeys(spec.output_names, float(spec.default)))
                    continue
            if spec.kind == "numeric":
                out[spec.name] = _transform(spec, _number(raw, spec.field)) * spec.scale
            elif spec.kind == "categorical":
                if spec.name in self._aliases and raw is not _MISSING and raw is not None:
                    raw = self._aliases[spec.name].canonical(raw)
                out.update({n: v * spec.scale for n, v in _categorical(spec, raw).items()})
            elif spec.derive in _RUNNING:
                out[spec.name] = self._run(spec, document, raw, key, at) * spec.scale
            elif spec.derive in _KEYED:  # transform before the state: deviations of logs
                out[spec.name] = self._derived(spec, raw, key, at) * spec.scale
            else:
                out[spec.name] = _transform(spec, self._derived(spec, raw, key, at)) * spec.scale
        return out

    def _derived(self, spec: Any, raw: Any, key: str | None, at: datetime | None) -> float:
        kind = spec.derive
        if kind == "status_class":
            return float(int(_number(raw, spec.field)) // 100)
        if kind == "equals":
            return 1.0 if self._options[spec.name].match(raw) else 0.0
        if kind == "length":
            return float(len("" if raw is _MISSING else str(raw)))
        if kind == "recent_count":
            return self._recent_count(spec, raw, at)
        state: OrderedDict[str, Any] = self._state[spec.name]
        k = key or ""
        value = _transform(spec, _number(raw, spec.field))  # log: deviation of a ratio
        previous = state.pop(k, None)
        if kind == "key_deviation":
            mean = value if previous is None else previous
            state[k] = mean + spec.alpha * (value - mean)
            result = value - mean
        elif kind == "key_change":
            state[k] = value
            result = 0.0 if previous is None else value - previous
        else:  # run_length
            same = previous is not None and previous[0] == value
            state[k] = (value, previous[1] + 1 if same else 1)
            result = float(state[k][1])
        if len(state) > MAX_KEYS:
            state.popitem(last=False)
        return result

    def _run(
        self, spec: Any, document: dict[str, Any], raw: Any, key: str | None, at: datetime | None
    ) -> float:
        """A per-key running feature (:mod:`connector.features.running`)."""
        state = self._running[spec.name]
        now = at.timestamp() if at is not None else 0.0
        if spec.derive == "novelty":  # known spellings count as their canonical name
            text = "" if raw is _MISSING or raw is None else raw
            aliases = self._aliases.get(spec.name)
            return state.update(aliases.canonical(text) if aliases else text, now)
        if spec.derive == "key_gap":
            return _transform(spec, state.update(key or "", now))
        value = _transform(spec, _number(raw, spec.field))  # log: deviations of ratios
        if spec.hold and self._holds[spec.name].match(get_field(document, spec.hold[0], None)):
            return getattr(state, "neutral", 0.0)
        if spec.derive == "group_zmean":
            return state.update(key or "", value, now)
        return state.update(key or "", value)

    def _recent_count(self, spec: Any, raw: Any, at: datetime | None) -> float:
        name = spec.name
        times = self._recent[name]
        now = at.timestamp() if at is not None else (times[-1] if times else 0.0)
        if raw is not _MISSING and self._options[name].match(raw):
            times.append(now)
            if now > self._latest[name]:
                self._latest[name] = now
        while times and times[0] <= now - spec.seconds:
            times.popleft()
        if self._latest[name] <= now:  # in event-time order: every kept time counts
            return float(len(times))
        self._latest[name] = max(times, default=-math.inf)  # an out-of-order record
        return float(sum(1 for t in times if t <= now))

    def snapshot(self) -> dict[str, Any]:
        """JSON-friendly state of the stateful features."""
        return {
            "keyed": {n: list(s.items()) for n, s in self._state.items() if s},
            "recent": {n: list(t) for n, t in self._recent.items() if t},
            "running": {n: _state_of(r) for n, r in self._running.items()},
        }

    def restore(self, blob: dict[str, Any]) -> None:
        """Load state produced by :meth:`snapshot` (unknown feature names are ignored)."""
        for name, items in blob.get("keyed", {}).items():
            if name in self._state:
                self._state[name] = OrderedDict(
                    (k, tuple(v) if isinstance(v, list) else v) for k, v in items
                )
        for name, saved in blob.get("running", {}).items():
            if name in self._running:
                _restore(self._running[name], saved)
        for name, times in blob.get("recent", {}).items():
            if name in self._recent:
                self._recent[name] = deque(times)
                self._latest[name] = max(times, default=-math.inf)


def _tolerates_missing(spec: Any) -> bool:
    return spec.kind == "categorical" or spec.derive in (
        "equals", "length", "recent_count", "key_gap", "novelty"
    )


def _running(spec: Any) -> Any:
    """The running-state object of a derived feature of kind ``spec.derive``."""
    if spec.derive == "novelty":
        return Novelty(spec.half_life or math.inf)
    if spec.derive == "key_gap":
        return KeyGap(spec.alpha)
    if spec.derive == "group_zmean":
        groups: dict[str, list[tuple[float, float]]] = {}
        for name, lo, hi in spec.groups:
            groups.setdefault(name, []).append((lo, hi))
        stale = spec.seconds or math.inf
        return GroupAgreement(groups, spec.alpha, spec.smooth, stale, spec.spread_alpha)
    return KeyZScore(spec.alpha, spec.spread_alpha, spec.smooth, _Z_OUTPUT[spec.derive])


def _state_of(obj: Any) -> Any:
    if isinstance(obj, GroupAgreement):
        return obj.snapshot()
    if isinstance(obj, Novelty):
        return list(obj.counts.items())
    return list(obj.state.items())


def _restore(obj: Any, saved: Any) -> None:
    if isinstance(obj, GroupAgreement):
        obj.restore(saved)
    elif isinstance(obj, Novelty):
        obj.counts = OrderedDict((k, list(v)) for k, v in saved)
    else:
        obj.state = OrderedDict((k, list(v)) for k, v in saved)


def _number(raw: Any, field: str) -> float:
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise RecordRejected(f"wrong type: field '{field}' must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise RecordRejected(f"wrong type: field '{field}' must be finite, got {raw!r}")
    return value


def _transform(spec: Any, value: float) -> float:
    result = _TRANSFORMS[spec.transform](value)
    if math.isnan(result):
        raise RecordRejected(
            f"out of range: field '{spec.field}' = {value!r} has no {spec.transform}"
        )
    return float(result)


def _categorical(spec: Any, raw: Any) -> dict[str, float]:
    text = "" if raw is _MISSING or raw is None else str(raw)
    if spec.encoding == "onehot":
        return {f"{spec.name}={c}": 1.0 if c == text else 0.0 for c in spec.categories}
    try:
        return {spec.name: float(spec.categories.index(text))}
    except ValueError:
        return {spec.name: float(len(spec.categories))}  # unknown -> one past the last


class _Options:
    """The value(s) an ``equals``/``recent_count`` feature matches: equal, or equal as text.

    >>> opts = _Options(["ERROR", 5])
    >>> opts.match("ERROR"), opts.match(5.0), opts.match("5"), opts.match({"a": 1}), opts.match(6)
    (True, True, True, False, False)
    """

    def __init__(self, expected: Any, aliases: Aliases | None = None) -> None:
        self.aliases = aliases
        self.values = tuple(expected) if isinstance(expected, list | tuple) else (expected,)
        self.texts = frozenset(str(o) for o in self.values)
        try:
            self.hashed: frozenset[Any] | None = frozenset(self.values)
        except TypeError:  # an unhashable option: compare one by one
            self.hashed = None

    def match(self, raw: Any) -> bool:
        if self.aliases is not None and isinstance(raw, str):
            raw = self.aliases.canonical(raw)
        if self.hashed is not None:
            try:
                return raw in self.hashed or str(raw) in self.texts
            except TypeError:  # an unhashable value (a dict or list field)
                pass
        return any(raw == o for o in self.values) or str(raw) in self.texts
