"""Run a scenario's labelled generator through its shipped pipeline, in process, and score it.

The path is the connector's own: ``connector.config.load_pipeline`` reads
``pipelines/<scenario>.yaml``, ``connector.transform.build_transform`` prepares every record,
and ``connector.scoring.Scoring`` / ``WindowedScoring`` (the classes the runner uses) fold
records into windows and call the scorer. No servers: records come from
``generators.<scenario>.records`` on a fast synthetic clock (event time advances at the
scenario's rate; nothing sleeps). Only the ground truth differs from production: the labels
of :class:`generators.base.GeneratedRecord` mark which records (or windows) are anomalous.

Windows are labelled by overlap: a window of key ``k`` belongs to an event when it overlaps
the event time span of the event's labelled records on ``k`` (including records a
``pair_stop`` removed, which are never scored). A window's position in its event is its
number of window steps after the event's first window.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from evaluation.scenario_metrics import ScenarioFigures, Unit, figures

__all__ = ["PIPELINES", "RUNS", "RunSpec", "run_scenario"]

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"
START = 1_800_000_000.0  # event time of the first record (fixed, so runs repeat exactly)
BATCH = 2000


@dataclass(frozen=True)
class RunSpec:
    """Records to generate and the per-record episode probability (>= 20 events per kind)."""

    records: int
    anomaly_rate: float
    start: float = 0.0  # the first record's event time, from START
    generator: str | None = None  # generators.<name> when it is not the scenario's name
    kinds: tuple[str, ...] = ()  # kinds the pipeline is meant to see (others: normal); () = all
    views: tuple[str, ...] = ()  # more pipelines over the same records; any view may detect


RUNS = {  # anomalies rare enough not to become the normal the models learn (see the README)
    "gameday": RunSpec(200_000, 0.0004),
    "sensors": RunSpec(400_000, 0.0002),
    "reviews": RunSpec(80_000, 0.0025, views=("reviews-movies",)),  # 12 h, daily curve
    # tolls: 06:00 to about 12:15 (the morning rush), cloned plates are per-plate news
    "tolls": RunSpec(400_000, 0.0001, -7200.0, None,
                     ("sensor_failure", "partial_drop", "long_silence", "diversion")),
    "flowlogs": RunSpec(1_200_000, 0.00015),  # about 22 h: a daily cycle, batch and new pairs
}


def _batches(it: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in it:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def run_scenario(
    scenario: str,
    strength: str = "default",
    records: int | None = None,
    seed: int = 1,
    anomaly_rate: float | None = None,
    calibration: dict | None = None,
) -> ScenarioFigures:
    """Generate, prepare, score and measure one scenario at one strength.

    ``calibration`` replaces the pipeline's calibration block: a what-if for proposing a
    pipeline change, never the reported figures of the shipped config. A scenario with
    ``views`` (reviews: per reviewer and per movie) runs the same records through each
    pipeline; an event is detected when any view flags one of its windows, and the
    false-positive rate is over the normal windows of all views.
    """
    units: list[Unit] = []
    for pipeline in (scenario, *RUNS[scenario].views):
        units += _units(pipeline, scenario, strength, records, seed, anomaly_rate, calibration)
    return figures(units)


def _units(
    pipeline: str,
    scenario: str,
    strength: str,
    records: int | None,
    seed: int,
    anomaly_rate: float | None,
    calibration: dict | None,
) -> list[Unit]:
    """The scored, labelled units of one pipeline over the scenario's generated records."""
    import dataclasses

    from connector.config import load_pipeline
    from connector.records import SourceRecord
    from connector.scoring import Scoring, WindowedScoring
    from connector.transform import build_transform

    spec = RUNS[scenario]
    cfg = load_pipeline(PIPELINES / f"{pipeline}.yaml")
    if calibration is not None:
        cfg = dataclasses.replace(cfg, calibration=dict(calibration))
    transform = build_transform(cfg)
    windowed = cfg.window is not None
    scoring = (WindowedScoring if windowed else Scoring).from_config(cfg)
    module = importlib.import_module(f"generators.{spec.generator or scenario}")
    gen = module.records(
        count=records or spec.records,
        anomaly_rate=spec.anomaly_rate if anomaly_rate is None else anomaly_rate,
        seed=seed,
        strength=strength,
        start=START + spec.start,
    )
    rush = getattr(module, "rush", None)  # the generator's busy hours, when it has them
    stamps: list[float] = []  # per sent record: event time
    truth: list[tuple[int | None, str | None]] = []  # per sent record: event, kind
    spans: dict[tuple[str | None, int], list] = {}  # (key, event) -> [t min, t max, kind]
    seen: dict[int, int] = {}  # event -> records of it so far (record positions)
    units: list[Unit] = []
    windows: list[tuple[str, float, bool, bool]] = []  # key, start, flag, warming_up
    offset = 0
    for batch in _batches(gen, BATCH):
        prepared, recs = [], []
        for g in batch:
            # a record the anomaly removed is never sent: only its time and key are read, so
            # it does not feed stateful features (a sensor's gap since its last reading)
            p = transform.prepare(g.value) if g.send else _unsent(transform, g.value)
            if g.label is not None and spec.kinds and g.label not in spec.kinds:
                g = dataclasses.replace(g, label=None, event=None)  # not this pipeline's kind
            if g.label is not None:
                ts = p.timestamp.timestamp()
                span = spans.setdefault((p.key, g.event), [ts, ts, g.label])
                span[0], span[1] = min(span[0], ts), max(span[1], ts)
            if not g.send:
                continue
            prepared.append(p)
            recs.append(SourceRecord(scenario, 0, offset, g.value))
            truth.append((g.event if g.label else None, g.label))
            stamps.append(g.timestamp)
            offset += 1
        docs, rejected = scoring.documents(prepared, recs)
        if rejected:
            raise RuntimeError(f"{scenario}: {len(rejected)} records rejected: {rejected[0]}")
        for d in docs:
            out = d.body["outlier"]
            if windowed:
                windows.append(_window(d.doc_id, out))
                continue
            event, kind = truth[d.record.offset]
            position = seen.get(event, 0) if event is not None else 0
            if event is not None:
                seen[event] = position + 1
            busy = rush is not None and rush(stamps[d.record.offset])
            units.append(Unit(out["flag"], event, kind, position, out["warming_up"],
                              "rush" if busy else None))
    if windowed:  # the end of the input: a drain scores the windows still open
        ended = len(windows)
        windows += [_window(d.doc_id, d.body["outlier"]) for d in scoring.drain()]
        units = _window_units(windows, spans, cfg.window.size, cfg.window.step, rush, ended)
    return units


def _unsent(transform, value: bytes):
    """Event time and key of a record that is never sent, without featurizing it."""
    from connector.decode import parse_timestamp
    from connector.features.extract import get_field
    from connector.transform import Prepared

    document = transform.decode(value)
    ts = transform.cfg.timestamp
    when = parse_timestamp(get_field(document, ts.field, None), ts.format, ts.field)
    return Prepared(document, when, transform.key_of(document), {})


def _window(doc_id: str, out: dict) -> tuple[str, float, bool, bool]:
    """``(key, start s, flag, warming_up)`` from a window document (id: pipeline+key+ms)."""
    _, rest = doc_id.split("+", 1)
    key, start_ms = rest.rsplit("+", 1)
    return key, int(start_ms) / 1000.0, bool(out["flag"]), bool(out["warming_up"])


def _window_units(
    windows: list[tuple[str, float, bool, bool]],
    spans: dict[tuple[str | None, int], list],
    size: float,
    step: float,
    rush: Callable[[float], bool] | None = None,
    ended: int | None = None,
) -> list[Unit]:
    """Label windows by overlap with event spans; position = steps after the event's first.

    A window's phase is ``end`` from index ``ended`` on (scored at the drain, when the input
    ended), else ``rush`` when ``rush(start)`` says so.

    Examples
    --------
    >>> spans = {("a", 1): [25.0, 38.0, "drop"]}
    >>> ws = [("a", 10.0, False, False), ("a", 20.0, False, False), ("a", 30.0, True, False),
    ...       ("b", 30.0, True, False), ("a", 40.0, False, False)]
    >>> [(u.event, u.position, u.flag) for u in _window_units(ws, spans, 10.0, 10.0)]
    [(None, 0, False), (1, 0, False), (1, 1, True), (None, 0, True), (None, 0, False)]
    """
    by_key: dict[str | None, list[tuple[float, float, int, str]]] = {}
    for (key, event), (lo, hi, kind) in spans.items():
        by_key.setdefault(key, []).append((lo, hi, event, kind))
    labelled = []
    first: dict[int, float] = {}
    seen_ids: set[tuple[str, float]] = set()
    for i, (key, start, flag, warm) in enumerate(windows):
        if (key, start) in seen_ids:
            continue  # a late update of a window already scored: count the first emission
        seen_ids.add((key, start))
        hit = next(
            ((e, k) for lo, hi, e, k in by_key.get(key, ()) if start <= hi and start + size > lo),
            (None, None),
        )
        if hit[0] is not None:
            first[hit[0]] = min(first.get(hit[0], start), start)
        phase = ("end" if ended is not None and i >= ended
                 else "rush" if rush is not None and rush(start) else None)
        labelled.append((hit, start, flag, warm, phase))
    return [
        Unit(flag, e, k, round((start - first[e]) / step) if e is not None else 0, warm, phase)
        for (e, k), start, flag, warm, phase in labelled
    ]
