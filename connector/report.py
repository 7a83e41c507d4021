"""What a run found: detection figures against injected labels, and the top outliers.

Pure functions over plain values (:func:`detection`) plus two read-only OpenSearch queries
(:func:`flagged_ids`, :func:`top_outliers`) used by the demo's summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Detection", "detection", "flagged_ids", "top_outliers", "top_query"]


@dataclass(frozen=True, slots=True)
class Detection:
    """Precision over flagged records; recall over labelled records and over events."""

    flagged: int
    labelled: int
    true_positives: int
    events: int
    events_found: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.flagged if self.flagged else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.labelled if self.labelled else 0.0

    @property
    def event_recall(self) -> float:
        return self.events_found / self.events if self.events else 0.0


def detection(flagged: Iterable[str], labels: Mapping[str, Any]) -> Detection:
    """Compare flagged record ids with ``labels`` (record id -> event number).

    An event (a burst of 20 lines is one) counts as found when any of its records is flagged.

    Examples
    --------
    >>> d = detection({"a", "b", "x"}, {"a": 1, "b": 1, "c": 2, "d": 3})
    >>> d.true_positives, round(d.precision, 3), d.recall, round(d.event_recall, 3)
    (2, 0.667, 0.5, 0.333)
    >>> detection([], {}).precision
    0.0
    """
    flagged = set(flagged)
    hits = flagged & set(labels)
    events = set(labels.values())
    found = {labels[i] for i in hits}
    return Detection(len(flagged), len(labels), len(hits), len(events), len(found))


def top_query(size: int = 10) -> dict[str, Any]:
    """The search body for the highest-scored flagged documents (also printed for curl).

    Examples
    --------
    >>> top_query(3)["sort"]
    [{'outlier.score': {'order': 'desc'}}]
    """
    return {
        "size": size,
        "query": {"term": {"outlier.flag": True}},
        "sort": [{"outlier.score": {"order": "desc"}}],
        "_source": ["log_identifier", "log_level", "response_time", "path", "outlier.score",
                    "outlier.grade", "outlier.top_field", "outlier.direction", "@timestamp"],
    }


def flagged_ids(client: Any, index: str, id_field: str = "log_identifier") -> list[str]:
    """``id_field`` of every flagged document (refreshes the index first)."""
    from opensearchpy import helpers

    client.indices.refresh(index=index)
    hits = helpers.scan(client, index=index, query={"query": {"term": {"outlier.flag": True}}},
                        _source=[id_field], size=1000)
    return [h["_source"].get(id_field) for h in hits]


def top_outliers(client: Any, index: str, size: int = 10) -> list[dict[str, Any]]:
    """The ``size`` highest-scored flagged documents' sources."""
    response = client.search(index=index, body=top_query(size))
    return [hit["_source"] for hit in response["hits"]["hits"]]
