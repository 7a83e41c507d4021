"""The value a scorer returns for every record: score, grade, flag and explanation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Assessment"]


@dataclass(slots=True)
class Assessment:
    """Outcome of scoring one record, as the connector writes it under ``outlier.*``.

    Parameters
    ----------
    score
        Raw detector score, high means odd (RCF scale for ``rcf``, [0, 1] for ``hst``).
    grade
        Calibrated score in [0, 1]: the share of the key's recent scores that are lower.
        Comparable across detectors and keys.
    flag
        Whether the calibration rule (threshold or quantile) flags the record. Never
        ``True`` while ``warming_up``.
    confidence
        How settled the model and its score history are, in [0, 1].
    warming_up
        The model has not seen enough records to be trusted.
    key
        The key of the model that scored the record (``None`` for a single model).
    model
        Detector name and config version, e.g. ``"rcf@1a2b3c4d"``.
    top_field, direction
        The field that drove the score most and whether it was ``"high"`` or ``"low"``;
        ``None`` unless flagged.
    explanation
        ``{field: {"attribution", "direction", "expected"}}`` for flagged records, else ``None``.
    rejected
        Reason the record was not scored (missing-feature policy ``"reject"``), else ``None``.

    Examples
    --------
    >>> a = Assessment(score=3.1, grade=0.99, flag=True, confidence=0.8, warming_up=False)
    >>> a.as_fields()["flag"]
    True
    """

    score: float
    grade: float
    flag: bool
    confidence: float
    warming_up: bool
    key: str | None = None
    model: str | None = None
    top_field: str | None = None
    direction: str | None = None
    explanation: dict[str, dict[str, Any]] | None = None
    rejected: str | None = None

    def as_fields(self) -> dict[str, Any]:
        """Return the assessment as a plain dict (the ``outlier.*`` document fields).

        Examples
        --------
        >>> sorted(Assessment(0.5, 0.4, False, 1.0, False).as_fields())[:3]
        ['confidence', 'direction', 'explanation']
        """
        return asdict(self)
