"""The snapshot format of a :class:`~connector.features.windows.WindowAggregator`.

JSON, version 1: the window spec, the feature order, the watermark, the empty-window and
novelty clocks, the highest offset folded in per partition, every key's
:class:`~connector.features.keys.KeyState` as a list, and every kept window (key, start,
fields, accumulator states, positions, revision, age, baselines, whether it was made for a
silent key). Snapshots written before a field was added still load: ``origin`` defaults to
the first start of the known keys, a key's ``talked`` to its window count, a window's
``empty`` to false.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

from connector.features.aggregates import make_accumulator
from connector.features.keys import KeyState
from connector.features.spec import Aggregate, KeySpec, WindowSpec

__all__ = ["dump", "load"]


def dump(agg: Any) -> bytes:
    """JSON bytes of everything ``agg`` needs to resume."""
    blob = {
        "version": 1,
        "spec": asdict(agg.spec),
        "features": agg.names,
        "watermark": None if agg.watermark == -math.inf else agg.watermark,
        "next_empty": agg._next_empty,
        "origin": agg._origin,
        "dropped": agg.dropped,
        "hwm": [[t, p, o] for (t, p), o in agg._hwm.items()],
        "keys": [[k, *v.to_list()] for k, v in agg._keys.items()],
        "open": [
            [
                w.key,
                w.start,
                w.fields,
                [a.state for a in w.accs],
                [list(p) for p in w.positions],
                w.emitted,
                w.age,
                w.usual,
                w.empty,
            ]
            for w in agg._open.values()
        ],
    }
    return json.dumps(blob, separators=(",", ":")).encode()


def load(cls: type, open_window: type, blob: bytes | str, spec: WindowSpec | None) -> Any:
    """An aggregator of class ``cls`` from :func:`dump`'s bytes (``spec`` overrides the
    stored one); ``open_window`` builds each kept window."""
    data = json.loads(blob)
    if spec is None:
        spec = _spec(data["spec"])
    agg = cls(spec, data["features"])
    agg.watermark = -math.inf if data["watermark"] is None else data["watermark"]
    agg._next_empty, agg.dropped = data["next_empty"], data["dropped"]
    agg._hwm = {(t, p): o for t, p, o in data["hwm"]}
    agg._keys = {k: KeyState.from_list(rest) for k, *rest in data["keys"]}
    firsts = [k.first for k in agg._keys.values()]
    agg._origin = data.get("origin", min(firsts) if firsts else None)
    for key, start, fields, states, positions, emitted, age, usual, *rest in data["open"]:
        accs = [make_accumulator(a.op, s) for a, s in zip(spec.aggregates, states, strict=True)]
        agg._open[(key, start)] = open_window(
            key, start, fields, accs, [tuple(p) for p in positions], emitted, age, usual,
            bool(rest and rest[0]),
        )
    return agg


def _spec(raw: dict[str, Any]) -> WindowSpec:
    return WindowSpec(
        **{
            **raw,
            "key": KeySpec(tuple(raw["key"]["fields"]), raw["key"]["separator"]),
            "aggregates": tuple(Aggregate(**a) for a in raw["aggregates"]),
            "features": tuple(raw.get("features", ())),
        }
    )
