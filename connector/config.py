"""Pipeline config: one YAML per scenario, loaded and validated once into frozen dataclasses.

``load_pipeline(path)`` reads the YAML, interpolates ``${VAR}`` / ``${VAR:-default}`` from the
environment (the only way the environment is read), validates it against
``connector/pipeline_schema.json`` and then against the semantic rules below, and returns a
:class:`PipelineConfig`. Every failure is a :class:`~connector.errors.ConfigError` naming the YAML
path and the rule, e.g. ``tolls.detector.shingle_size: must be ≥ 1``.

The ``kafka:`` and ``opensearch:`` blocks pass through verbatim (librdkafka dotted keys,
opensearch-py keyword arguments); values whose key looks secret are masked in ``repr``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import detectors.defaults
from connector.config_env import Settings, interpolate
from connector.config_schema import SCHEMA_PATH, validate_schema
from connector.decode.spec import Column, DecodeSpec, TimestampSpec, parse_decode
from connector.errors import ConfigError
from connector.features.spec import (
    Aggregate,
    FeatureSpec,
    KeySpec,
    WindowSpec,
    parse_feature,
    parse_window,
)

# fmt: off
__all__ = [
    "Aggregate", "Column", "ConfigError", "DecodeSpec", "EventsOutput", "FeatureSpec", "KeySpec",
    "OutputSpec", "PipelineConfig", "SCHEMA_PATH", "Settings", "SourceSpec", "TimestampSpec",
    "WindowSpec", "load_pipeline", "parse_pipeline", "read_yaml",
]
# fmt: on

_CONDITION = re.compile(r"^\s*([\w.@]+)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")


@dataclass(frozen=True)
class SourceSpec:
    """Where records come from: Kafka ``topics`` (``kafka`` settings) or a file/stdin ``path``."""

    kind: str
    topics: tuple[str, ...] = ()
    group_id: str | None = None
    kafka: Settings = field(default_factory=Settings)
    path: str | None = None


@dataclass(frozen=True)
class EventsOutput:
    """Flagged events to a Kafka topic: ``when`` a condition holds, body from ``template``.

    ``kafka`` holds producer settings for the events only; empty means "the source's".
    """

    topic: str
    when: str = "outlier.flag == true"
    template: Any = None
    kafka: Settings = field(default_factory=Settings)

    @property
    def condition(self) -> tuple[str, str, Any]:
        """``when`` parsed as ``(field, operator, value)``."""
        return _parse_condition(self.when, "output.events.when")


@dataclass(frozen=True)
class OutputSpec:
    """Where documents go: an OpenSearch index, the error topic, optional events."""

    index: str
    opensearch: Settings
    errors_topic: str | None
    events: EventsOutput | None = None


@dataclass(frozen=True)
class PipelineConfig:
    """A validated pipeline; build it with :func:`load_pipeline`."""

    name: str
    version: str
    source: SourceSpec
    decode: DecodeSpec
    timestamp: TimestampSpec
    key: KeySpec
    features: tuple[FeatureSpec, ...]
    window: WindowSpec | None
    detector: dict[str, Any]
    calibration: dict[str, Any]
    keyed: dict[str, Any] | None
    output: OutputSpec

    @property
    def record_features_names(self) -> list[str]:
        """Names of the per-record features, in order (``Prepared.features``)."""
        return [n for f in self.features for n in f.output_names]

    @property
    def features_names(self) -> list[str]:
        """Model input names: window aggregates when windowed, else record features."""
        if self.window is not None:
            return list(self.window.features) or [a.name for a in self.window.aggregates]
        return self.record_features_names


def load_pipeline(
    path: str | os.PathLike[str], env: dict[str, str] | None = None
) -> PipelineConfig:
    """Load, interpolate and validate one pipeline YAML.

    Parameters
    ----------
    path
        The YAML file.
    env
        Variables for ``${VAR}`` interpolation; ``os.environ`` when omitted.

    Examples
    --------
    >>> cfg = load_pipeline("pipelines/gameday.yaml", env={})
    >>> cfg.name, cfg.source.topics, cfg.output.errors_topic
    ('gameday', ('gameday',), 'gameday.errors')
    """
    return parse_pipeline(read_yaml(path), env=env, default_name=Path(path).stem)


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """The YAML tree of a file; a syntax error names the file, line and column.

    Examples
    --------
    >>> read_yaml("pipelines/gameday.yaml")["name"]
    'gameday'
    >>> import pathlib, tempfile
    >>> bad = pathlib.Path(tempfile.mkdtemp(), "p.yaml")
    >>> _ = bad.write_text("source: [a,\\n")
    >>> try:
    ...     read_yaml(bad)
    ... except ConfigError as exc:
    ...     print(exc.path.endswith("p.yaml:2:1"), exc.rule[:42])
    True not valid YAML: while parsing a flow node,
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        rule = f"not valid YAML: {context + ', ' if context else ''}{problem}"
        raise ConfigError(where, rule) from None


def parse_pipeline(
    raw: Any, env: dict[str, str] | None = None, default_name: str = "pipeline"
) -> PipelineConfig:
    """Validate an already-parsed YAML tree (see :func:`load_pipeline`).

    >>> parse_pipeline({"name": "t", "source": {"kind": "file", "path": "-"}})
    Traceback (most recent call last):
    ...
    connector.errors.ConfigError: t: 'decode' is a required property
    """
    name = raw.get("name", default_name) if isinstance(raw, dict) else default_name
    if not isinstance(raw, dict):
        raise ConfigError(str(name), "must be a mapping")
    raw = interpolate(raw, os.environ if env is None else env, str(name))
    validate_schema(raw, str(name))
    return _build(raw, str(name))


def _parse_condition(text: str, path: str) -> tuple[str, str, Any]:
    m = _CONDITION.match(text)
    if not m:
        raise ConfigError(path, "must look like 'field > 1' or 'outlier.flag == true'")
    return m.group(1), m.group(2), yaml.safe_load(m.group(3))


def _build(raw: dict[str, Any], name: str) -> PipelineConfig:
    source = _source(raw["source"], name)
    key = KeySpec(
        tuple(raw.get("key", {}).get("fields", ())), raw.get("key", {}).get("separator", "|")
    )
    features = tuple(
        parse_feature(f, f"{name}.features[{i}]") for i, f in enumerate(raw.get("features", []))
    )
    names = [n for f in features for n in f.output_names]
    if len(set(names)) != len(names):
        raise ConfigError(f"{name}.features", "feature names must be unique")
    window = parse_window(raw["window"], key, f"{name}.window") if raw.get("window") else None
    # absent blocks get the product defaults, measured in detectors/README.md; a keyed pool
    # gets the per-key ones (a model small enough for 10,000 keys in 1 GB)
    defaults = detectors.defaults
    keyed = bool(raw.get("keyed"))
    detector = _plain(raw.get("detector") or (
        defaults.DEFAULT_KEYED_RCF if keyed else defaults.DEFAULT_RCF))
    _check_detector(detector, f"{name}.detector")
    calibration = _plain(raw.get("calibration") or (
        defaults.DEFAULT_KEYED_CALIBRATION if keyed else defaults.DEFAULT_CALIBRATION))
    if "threshold" not in calibration and "quantile" not in calibration:
        raise ConfigError(f"{name}.calibration", "needs threshold or quantile")
    if calibration.get("relearn_after") is not None and not calibration.get("protect"):
        raise ConfigError(f"{name}.calibration.relearn_after", "only with protect: true")
    if window is None and not names:
        raise ConfigError(f"{name}.features", "must have at least 1 item(s) without a window")
    return PipelineConfig(
        name=name,
        version=str(raw.get("version", "1")),
        source=source,
        decode=parse_decode(raw["decode"], f"{name}.decode"),
        timestamp=TimestampSpec(raw["timestamp"]["field"], raw["timestamp"].get("format", "auto")),
        key=key,
        features=features,
        window=window,
        detector=detector,
        calibration=calibration,
        keyed=dict(raw["keyed"]) if raw.get("keyed") else None,
        output=_output(raw.get("output", {}), name, source),
    )


def _source(raw: dict[str, Any], name: str) -> SourceSpec:
    if raw["kind"] == "file":
        if not raw.get("path"):
            raise ConfigError(f"{name}.source.path", "is required for a file source ('-' = stdin)")
        return SourceSpec(kind="file", path=str(raw["path"]), kafka=Settings(raw.get("kafka", {})))
    if not raw.get("topics"):
        raise ConfigError(f"{name}.source.topics", "is required for a kafka source")
    kafka = Settings(raw.get("kafka", {}))
    if "bootstrap.servers" not in kafka:
        raise ConfigError(f"{name}.source.kafka", "'bootstrap.servers' is required")
    group = raw.get("group_id") or kafka.get("group.id") or f"outlier-{name}"
    return SourceSpec(kind="kafka", topics=tuple(raw["topics"]), group_id=group, kafka=kafka)


def _check_detector(det: dict[str, Any], path: str) -> None:
    rules = {"n_trees": 1, "sample_size": 2, "shingle_size": 1, "window_size": 1, "height": 1}
    for param, low in rules.items():
        if param in det and (not isinstance(det[param], int) or det[param] < low):
            raise ConfigError(f"{path}.{param}", f"must be an integer ≥ {low}")
    if "time_decay" in det and not det["time_decay"] > 0:
        raise ConfigError(f"{path}.time_decay", "must be > 0")
    try:
        from detectors.models import DETECTORS  # the detectors' own list of params
    except ImportError:  # pragma: no cover - detectors package absent
        return
    accepted = DETECTORS.get(det["name"], ())
    for param in det:
        if param != "name" and param not in accepted:
            raise ConfigError(
                f"{path}.{param}", f"unknown for {det['name']} (accepted: {', '.join(accepted)})"
            )


def _output(raw: dict[str, Any], name: str, source: SourceSpec) -> OutputSpec:
    errors = raw.get("errors_topic") or (f"{source.topics[0]}.errors" if source.topics else None)
    events = None
    if raw.get("events"):
        e = raw["events"]
        # no ``kafka:`` here: the events share the source's connection settings (TLS, auth)
        events = EventsOutput(
            e["topic"],
            e.get("when", "outlier.flag == true"),
            e.get("template"),
            Settings(e.get("kafka") or {}),
        )
        _parse_condition(events.when, f"{name}.output.events.when")
    return OutputSpec(
        index=raw.get("index", f"outliers-{name}"),
        opensearch=Settings(raw.get("opensearch", {"hosts": ["http://127.0.0.1:9200"]})),
        errors_topic=errors,
        events=events,
    )


def _plain(mapping: Any) -> Any:
    """A nested mapping (read-only defaults included) as plain dicts, so it pickles and compares."""
    if hasattr(mapping, "items"):
        return {k: _plain(v) for k, v in mapping.items()}
    return mapping
