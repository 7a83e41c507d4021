"""Explanations: per-field attribution summing to the score, direction and expected value.

Like Kinesis ``RANDOM_CUT_FOREST_WITH_EXPLANATION``: for each input field, an
``attribution`` (the field's share of the score; all shares add up to the score), a
``direction`` (``"high"`` or ``"low"``: the value was unusually high or low) and the
``expected`` value (the running mean of the field, when known).

- RCF: krcf's own directional attribution (one forest traversal).
- Any other detector (Half-Space Trees): perturbation. Each field in turn is set to its
  expected value and the drop of the score is its raw share; shares are rescaled to sum to
  the score. The cost is one extra scoring per field, so explain only flagged records.
"""

from __future__ import annotations

import math
from typing import Any

from river import compose

from .rcf import RandomCutForest

__all__ = ["explain_one", "top_of"]


def _split(model: Any) -> tuple[list[Any], Any]:
    """Return ``(preprocessing steps, final detector)``."""
    if isinstance(model, compose.Pipeline):
        steps = list(model.steps.values())
        return steps[:-1], steps[-1]
    return [], model


def _rcf(rcf: RandomCutForest, x: dict, expected: dict[str, float]) -> dict[str, dict]:
    out = {}
    for name, (high, low) in rcf.attribution_one(x).items():
        out[name] = {
            "attribution": high + low,
            "direction": "high" if high >= low else "low",
            "expected": expected.get(name),
        }
    return out


def _perturbation(
    model: Any, x: dict, expected: dict[str, float], score: float, spread: dict[str, float]
) -> dict:
    drops: dict[str, float] = {}
    for name, value in x.items():
        mean = expected.get(name)
        if mean is None or abs(value - mean) <= spread.get(name, 0.0):
            drops[name] = 0.0  # within one spread of its mean: not what made the record odd
            continue
        drops[name] = max(0.0, score - model.score_one({**x, name: mean}))
    total = sum(drops.values())
    out = {}
    for name, value in x.items():
        mean = expected.get(name)
        share = drops[name] / total if total > 0 else 1.0 / len(x)
        out[name] = {
            "attribution": score * share,
            "direction": "low" if mean is not None and value < mean else "high",
            "expected": mean,
        }
    return out


def explain_one(
    model: Any,
    x: dict,
    expected: dict[str, float] | None = None,
    score: float | None = None,
    spread: dict[str, float] | None = None,
) -> dict[str, dict[str, Any]]:
    """Explain the score of ``x``: ``{field: {"attribution", "direction", "expected"}}``.

    Call it before ``learn_one(x)`` so the explanation matches the score that flagged the
    record. Attributions are >= 0 and add up to the score.

    Parameters
    ----------
    model
        A detector, or a River pipeline ending in one. A pipeline ending in
        :class:`~detectors.rcf.RandomCutForest` uses RCF attribution on the transformed
        record; anything else is explained by perturbation.
    x
        The record, as given to ``score_one``.
    expected
        Expected value per field (e.g. running means); needed for perturbation.
    score
        The record's score if already known (saves one scoring).
    spread
        Typical deviation per field (e.g. running standard deviations). Perturbation skips
        fields within one spread of their expected value (share 0), saving one scoring each.

    Examples
    --------
    >>> import random
    >>> from river import anomaly, preprocessing
    >>> rng = random.Random(7)
    >>> model = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=7)
    >>> for _ in range(500):
    ...     model.learn_one({"a": rng.uniform(0, 1), "b": rng.uniform(0, 1)})
    >>> exp = explain_one(model, {"a": 0.5, "b": 3.0}, expected={"a": 0.5, "b": 0.5})
    >>> top_of(exp)
    ('b', 'high')
    >>> round(sum(e["attribution"] for e in exp.values()), 6) == round(
    ...     model.score_one({"a": 0.5, "b": 3.0}), 6)
    True
    """
    expected = expected or {}
    pre, last = _split(model)
    if isinstance(last, RandomCutForest):
        z = x
        for step in pre:
            z = step.transform_one(z)
        return _rcf(last, z, expected)
    if not x:
        return {}
    if score is None:
        score = model.score_one(x)
    return _perturbation(model, x, expected, score, spread or {})


def top_of(explanation: dict[str, dict[str, Any]] | None) -> tuple[str | None, str | None]:
    """Return ``(top_field, direction)``: the field with the largest attribution.

    Examples
    --------
    >>> top_of({"a": {"attribution": 0.2, "direction": "low"},
    ...         "b": {"attribution": 1.3, "direction": "high"}})
    ('b', 'high')
    >>> top_of(None)
    (None, None)
    """
    if not explanation:
        return None, None
    name = max(explanation, key=lambda k: explanation[k]["attribution"])
    attribution = explanation[name]["attribution"]
    if isinstance(attribution, float) and math.isnan(attribution):
        return None, None
    return name, explanation[name]["direction"]
