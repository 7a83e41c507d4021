"""The feature part of a pipeline config: key, record features and windows.

Frozen dataclasses built by :mod:`connector.config` (which re-exports them) from the YAML
``key:``, ``features:`` and ``window:`` blocks, after the JSON Schema has checked their shape;
the parsers here add the rules a schema cannot express and raise
:class:`~connector.errors.ConfigError` with the YAML path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from connector.errors import ConfigError
from connector.features.traffic import COMPARING_OPS

__all__ = [
    "Aggregate",
    "FeatureSpec",
    "KeySpec",
    "WindowSpec",
    "parse_duration",
    "parse_feature",
    "parse_window",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


@dataclass(frozen=True)
class KeySpec:
    """The model key: values of ``fields`` joined by ``separator`` (no key when empty)."""

    fields: tuple[str, ...] = ()
    separator: str = "|"


@dataclass(frozen=True)
class FeatureSpec:
    """One model input: numeric, categorical (ordinal/onehot) or derived from a field."""

    name: str
    kind: str
    field: str
    transform: str = "none"
    default: float | None = None
    encoding: str = "ordinal"
    categories: tuple[str, ...] = ()
    derive: str | None = None
    value: Any = None
    seconds: float = 0.0
    alpha: float = 0.05
    scale: float = 1.0
    # spellings of one category: ((canonical, (variant, ...)), ...), case-insensitive
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    hold: tuple[str, tuple[Any, ...]] | None = None  # (field, values): state paused, output 0
    groups: tuple[tuple[str, float, float], ...] = ()  # (group, first id, last id) of keys
    smooth: float = 0.1  # key_zmean / key_zenergy / group_zmean: weight of a record's z
    spread_alpha: float | None = None  # key_z*: weight of a record in the key's variance
    half_life: float = 0.0  # novelty: counts halve every this many seconds (0: never)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names this spec contributes (one per category for one-hot)."""
        if self.kind == "categorical" and self.encoding == "onehot":
            return tuple(f"{self.name}={c}" for c in self.categories)
        return (self.name,)


@dataclass(frozen=True)
class Aggregate:
    """A window feature: ``op`` (count, sum, distinct_count, mean, min, max, std, or a per-key
    op of :mod:`connector.features.keys`) of ``field``."""

    name: str
    op: str
    field: str | None = None
    scale: float = 1.0  # applied to the model input only; the document keeps the raw value
    clip: float | None = None  # model input clipped to [-clip, clip] (before scale)
    power: float = 1.0  # model input sign(v) |v| ** power (after clip, before scale)


@dataclass(frozen=True)
class WindowSpec:
    """Tumbling or sliding event-time windows per key, in seconds."""

    kind: str
    size: float
    step: float
    allowed_lateness: float
    late_policy: str
    aggregates: tuple[Aggregate, ...]
    key: KeySpec
    emit_empty: bool = False
    empty_ttl: int = 10
    empty_after: int = 1  # windows with records a key needs before it gets empty windows
    features: tuple[str, ...] = ()  # aggregates fed to the model; empty = all of them
    fill: str = "zero"  # missing: what a silent key's window holds (zero, previous, value)
    fill_value: float = 0.0  # missing: the value of fill: value
    silent_score_s: float = 0.0  # missing.score_for: silent windows scored this long (0: all)


def parse_duration(value: Any, path: str) -> float:
    """Seconds from ``10``, ``"10s"``, ``"500ms"``, ``"1m"`` or ``"2h"``.

    >>> parse_duration("1m", "w.size"), parse_duration(2.5, "w.size")
    (60.0, 2.5)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ConfigError(path, "must be a duration such as 10s, 500ms, 1m")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_feature(raw: dict[str, Any], path: str) -> FeatureSpec:
    """One item of ``features:``; ``path`` is its YAML path (for errors)."""
    kind = raw["kind"]
    if kind == "categorical" and not raw.get("categories"):
        raise ConfigError(f"{path}.categories", "is required for a categorical feature")
    if kind == "derived" and not raw.get("derive"):
        raise ConfigError(f"{path}.derive", "is required for a derived feature")
    if raw.get("derive") == "recent_count" and not raw.get("seconds"):
        raise ConfigError(f"{path}.seconds", "is required for recent_count")
    return FeatureSpec(
        name=raw["name"],
        kind=kind,
        field=raw.get("field", raw["name"]),
        transform=raw.get("transform", "none"),
        default=raw.get("default"),
        encoding=raw.get("encoding", "ordinal"),
        categories=tuple(str(c) for c in raw.get("categories", ())),
        derive=raw.get("derive"),
        value=raw.get("value"),
        seconds=parse_duration(raw.get("seconds", 0), f"{path}.seconds"),
        alpha=float(raw.get("alpha", 0.05)),
        scale=float(raw.get("scale", 1.0)),
        **_running_options(raw, path),
    )


_GROUPED = ("group_zmean",)
_HELD = ("key_zscore", "key_zmean", "key_zenergy", "group_zmean")


def _running_options(raw: dict[str, Any], path: str) -> dict[str, Any]:
    """Options of the per-key running kinds (:mod:`connector.features.running`).

    >>> _running_options({"derive": "group_zmean", "groups": {"pump": [[0, 3], [9, 9]]}}, "f")
    {'groups': (('pump', 0.0, 3.0), ('pump', 9.0, 9.0)), 'aliases': (), 'hold': None, \
'smooth': 0.1, 'spread_alpha': None, 'half_life': 0.0}
    >>> _running_options({"derive": "group_zmean", "groups": {"a": [[0, 3]], "b": [[3, 5]]}}, "f")
    Traceback (most recent call last):
    ...
    connector.errors.ConfigError: f.groups.b: id range [3, 5] overlaps group a
    """
    derive = raw.get("derive")
    groups: list[tuple[str, float, float]] = []
    for name, ranges in (raw.get("groups") or {}).items():
        for lo, hi in ranges:
            if lo > hi:
                raise ConfigError(f"{path}.groups.{name}", f"range [{lo}, {hi}] is empty")
            for other, olo, ohi in groups:
                if lo <= ohi and olo <= hi:
                    raise ConfigError(
                        f"{path}.groups.{name}", f"id range [{lo}, {hi}] overlaps group {other}"
                    )
            groups.append((str(name), float(lo), float(hi)))
    if derive in _GROUPED and not groups:
        raise ConfigError(f"{path}.groups", f"is required for {derive}")
    if groups and derive not in _GROUPED:
        raise ConfigError(f"{path}.groups", f"only with derive: {', '.join(_GROUPED)}")
    hold = raw.get("hold")
    if hold is not None and derive not in _HELD:
        raise ConfigError(f"{path}.hold", f"only with derive: {', '.join(_HELD)}")
    values = () if hold is None else hold["value"]
    aliases: list[tuple[str, tuple[str, ...]]] = []
    owner: dict[str, str] = {}
    for canonical, variants in (raw.get("aliases") or {}).items():
        for text in (canonical, *variants):
            folded = str(text).strip().casefold()
            if owner.get(folded, canonical) != canonical:
                raise ConfigError(
                    f"{path}.aliases.{canonical}",
                    f"{text!r} is already a spelling of {owner[folded]}",
                )
            owner[folded] = canonical
        aliases.append((str(canonical), tuple(str(v) for v in variants)))
    half_life = raw.get("half_life")
    return {
        "groups": tuple(groups),
        "aliases": tuple(aliases),
        "hold": None if hold is None else (
            hold["field"], tuple(values) if isinstance(values, list) else (values,)
        ),
        "smooth": float(raw.get("smooth", 0.1)),
        "spread_alpha": None if raw.get("spread_alpha") is None else float(raw["spread_alpha"]),
        "half_life": 0.0 if half_life is None else parse_duration(half_life, f"{path}.half_life"),
    }


def parse_window(raw: dict[str, Any], key: KeySpec, path: str) -> WindowSpec:
    """The ``window:`` block; ``path`` is its YAML path (for errors)."""
    size = parse_duration(raw["size"], f"{path}.size")
    step = parse_duration(raw.get("step", raw["size"]), f"{path}.step")
    if size <= 0:
        raise ConfigError(f"{path}.size", "must be > 0")
    if raw["kind"] == "tumbling" and step != size:
        raise ConfigError(f"{path}.step", "must equal size for a tumbling window")
    if not 0 < step <= size:
        raise ConfigError(f"{path}.step", "must be > 0 and ≤ size")
    aggs = []
    for i, a in enumerate(raw["aggregates"]):
        compares = a["op"] in ("key_ratio", "key_surprise", "key_scaled_surprise", "key_evidence",
                               *COMPARING_OPS)
        if compares and a.get("field") not in [x.name for x in aggs]:
            raise ConfigError(f"{path}.aggregates[{i}].field", "must name an earlier aggregate")
        if a["op"] not in ("count", "key_age", "key_novelty", "key_first") and not a.get("field"):
            raise ConfigError(f"{path}.aggregates[{i}].field", f"is required for op {a['op']}")
        if a["op"] == "key_shift" and not any(x.op == "count" for x in aggs):
            raise ConfigError(f"{path}.aggregates[{i}]", "key_shift needs an earlier count")
        clip = None if a.get("clip") is None else float(a["clip"])
        aggs.append(
            Aggregate(a["name"], a["op"], a.get("field"), float(a.get("scale", 1.0)), clip,
                      float(a.get("power", 1.0)))
        )
    known = [a.name for a in aggs]
    if len(set(known)) != len(known):
        raise ConfigError(f"{path}.aggregates", "aggregate names must be unique")
    for i, f in enumerate(raw.get("features", ())):
        if f not in known:
            raise ConfigError(
                f"{path}.features[{i}]", f"must name an aggregate ({', '.join(known)})"
            )
    missing = _missing(raw, step, path)
    return WindowSpec(
        kind=raw["kind"],
        size=size,
        step=step,
        allowed_lateness=parse_duration(raw.get("allowed_lateness", 0), f"{path}.allowed_lateness"),
        late_policy=raw.get("late_policy", "drop"),
        aggregates=tuple(aggs),
        key=key,
        features=tuple(raw.get("features", ())),
        **missing,
    )


FILLS = ("zero", "previous", "value")


def _missing(raw: dict[str, Any], step: float, path: str) -> dict[str, Any]:
    """The silent-key policy: ``missing: {fill, value, after, stop_after}``, or the older
    ``emit_empty`` / ``empty_after`` / ``empty_ttl`` (kept as aliases: same behaviour).

    ``fill``: what a window of a key seen recently holds when it has no records: ``zero``
    (every aggregate of an empty window), ``previous`` (the aggregates of the key's last
    window with records) or ``value`` (``value`` for every record aggregate); ``after``:
    windows with records a key needs first; ``stop_after``: the silence (a duration) after
    which the key is forgotten; ``score_for``: how long a silence is scored as one (the
    model sees its per-key aggregates); after it, the key's windows say ``silent: true`` and
    their per-key aggregates are 0 (flagged once, then reported as silent until it returns).

    >>> _missing({"missing": {"fill": "previous", "stop_after": "2h"}}, 10.0, "w")["empty_ttl"]
    720
    >>> _missing({"emit_empty": True, "empty_ttl": 30}, 10.0, "w")["empty_ttl"]
    30
    """
    block = raw.get("missing")
    if block is None:
        return {
            "emit_empty": bool(raw.get("emit_empty", False)),
            "empty_ttl": int(raw.get("empty_ttl", 10)),
            "empty_after": int(raw.get("empty_after", 1)),
        }
    old = [k for k in ("emit_empty", "empty_ttl", "empty_after") if k in raw]
    if old:
        raise ConfigError(f"{path}.{old[0]}", "give either missing: or the older emit_empty "
                          "options, not both")
    fill = block.get("fill", "zero")
    if fill not in FILLS:
        raise ConfigError(f"{path}.missing.fill", f"must be one of {', '.join(FILLS)}")
    if fill == "value" and block.get("value") is None:
        raise ConfigError(f"{path}.missing.value", "is required with fill: value")
    if fill != "value" and block.get("value") is not None:
        raise ConfigError(f"{path}.missing.value", "only with fill: value")
    stop = parse_duration(block.get("stop_after", "10m"), f"{path}.missing.stop_after")
    if stop < step:
        raise ConfigError(f"{path}.missing.stop_after", "must be at least one window step")
    after = int(block.get("after", 1))
    if after < 1:
        raise ConfigError(f"{path}.missing.after", "must be ≥ 1")
    return {
        "emit_empty": True,
        "empty_ttl": round(stop / step),
        "empty_after": after,
        "fill": fill,
        "fill_value": float(block.get("value") or 0.0),
        "silent_score_s": parse_duration(block.get("score_for", 0), f"{path}.missing.score_for"),
    }
