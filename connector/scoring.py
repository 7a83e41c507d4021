"""Scoring: prepared records (or closed windows) -> detector -> documents with ``outlier.*``.

One call per batch: :meth:`Scoring.documents` hands every feature vector of the batch to the
scorer's ``process_many`` (score, then learn, in order), then builds each document's body
(the record as decoded, ``@timestamp`` in UTC ISO-8601 and the ``outlier`` object of
SCENARIOS.md) and serialises it once with ``json.dumps``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from connector.records import Document, Rejection, SourceRecord, action_line, record_doc_id

__all__ = ["Scoring", "dumps", "iso_utc", "outlier_fields", "window_doc_id"]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def iso_utc(ts: datetime) -> str:
    """``@timestamp`` text: UTC, millisecond precision, ``Z`` suffix.

    Examples
    --------
    >>> from datetime import timedelta, timezone
    >>> iso_utc(datetime(2024, 10, 10, 13, 12, 42, 225131, tzinfo=UTC))
    '2024-10-10T13:12:42.225Z'
    >>> iso_utc(datetime(2024, 10, 10, 15, 0, tzinfo=timezone(timedelta(hours=2))))
    '2024-10-10T13:00:00.000Z'
    """
    if ts.tzinfo is not UTC:
        ts = ts.astimezone(UTC) if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    return ts.isoformat(timespec="milliseconds")[:-6] + "Z"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps(body: dict) -> str:
    """Compact JSON; NaN and infinities (which OpenSearch refuses) become ``null``.

    Examples
    --------
    >>> dumps({"a": 1.5, "b": float("nan"), "c": {"d": float("inf")}, "e": "é"})
    '{"a":1.5,"b":null,"c":{"d":null},"e":"é"}'
    """
    text = _dumps(body)
    if "NaN" in text or "Infinity" in text:  # rare: re-encode only then
        text = _dumps(_finite(body))
    return text


def outlier_fields(a: Any) -> dict[str, Any]:
    """The ``outlier`` object of one document, from a detector assessment.

    Examples
    --------
    >>> from types import SimpleNamespace as A
    >>> outlier_fields(A(score=3.2, grade=0.9, flag=True, confidence=0.8, warming_up=False,
    ...     key="GET wp-content", top_field="response_time", direction="high",
    ...     explanation={"response_time": {"attribution": 2.9, "direction": "high",
    ...     "expected": 0.2}}, model="rcf/1"))["top_field"]
    'response_time'
    """
    return {
        "score": a.score,
        "grade": a.grade,
        "flag": bool(a.flag),
        "confidence": a.confidence,
        "warming_up": bool(a.warming_up),
        "key": a.key,
        "top_field": a.top_field,
        "direction": a.direction,
        "explanation": a.explanation,
        "model": a.model,
    }


def window_doc_id(pipeline: str, key: str | None, start: datetime | float) -> str:
    """``_id`` of a window document: ``<pipeline>+<key>+<window start epoch ms>``.

    Examples
    --------
    >>> window_doc_id("tolls", "Exit79", datetime(2026, 11, 22, 10, 0, 10, tzinfo=UTC))
    'tolls+Exit79+1795341610000'
    """
    seconds = start.timestamp() if isinstance(start, datetime) else float(start)
    return f"{pipeline}+{key if key is not None else ''}+{round(seconds * 1000)}"


class Scoring:
    """Turns a batch of prepared records or closed windows into documents.

    Parameters
    ----------
    scorer
        A detectors scorer (``process_many(xs, keys)`` -> assessments, score then learn).
    pipeline
        The pipeline name (part of window document ids).
    """

    def __init__(self, scorer: Any, pipeline: str) -> None:
        self.scorer = scorer
        self.pipeline = pipeline

    @classmethod
    def from_config(cls, cfg: Any) -> Scoring:
        # the submodule import also works where the editable install saw an empty package
        from detectors.scorer import build_scorer

        scorer = build_scorer(
            detector=dict(cfg.detector),
            calibration=dict(cfg.calibration),
            keyed=dict(cfg.keyed) if cfg.keyed is not None else None,
            features=list(cfg.features_names),
        )
        return cls(scorer, cfg.name)

    def documents(
        self, prepared: Sequence[Any], records: Sequence[SourceRecord]
    ) -> tuple[list[Document], list[Rejection]]:
        """Score prepared records (in order) and build their documents (``create``).

        A record the scorer refused (``assessment.rejected``) comes back as a rejection.
        """
        if not prepared:
            return [], []
        assessments = self.scorer.process_many(
            [p.features for p in prepared], [p.key for p in prepared]
        )
        docs: list[Document] = []
        rejections: list[Rejection] = []
        append = docs.append
        for p, rec, a in zip(prepared, records, assessments, strict=True):
            if getattr(a, "rejected", None):
                rejections.append(Rejection(rec, f"not scored: {a.rejected}"))
                continue
            body = p.document
            body["@timestamp"] = iso_utc(p.timestamp)
            body["outlier"] = outlier_fields(a)
            doc_id = record_doc_id(rec.topic, rec.partition, rec.offset)
            append(Document(doc_id, action_line(doc_id), dumps(body), rec, bool(a.flag), body))
        return docs, rejections

    def window_documents(self, windows: Sequence[Any]) -> list[Document]:
        """Score closed windows; their documents use ``index`` so a late update replaces."""
        if not windows:
            return []
        assessments = self.scorer.process_many(
            [w.features for w in windows], [w.key for w in windows]
        )
        docs = []
        for w, a in zip(windows, assessments, strict=True):
            body = dict(w.document)
            body["@timestamp"] = iso_utc(w.end)
            body["outlier"] = outlier_fields(a)
            doc_id = window_doc_id(self.pipeline, w.key, w.start)
            docs.append(Document(doc_id, action_line(doc_id, "index"), dumps(body), None,
                                 bool(a.flag), body))
        return docs
