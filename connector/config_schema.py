"""Structural validation of a pipeline YAML against ``connector/pipeline_schema.json``.

The schema is the one editors use for completion; a violation becomes a
:class:`~connector.errors.ConfigError` naming the YAML path and the rule in plain words.

>>> validate_schema({"name": "t", "source": {"kind": "file", "path": "-"}}, "t")
Traceback (most recent call last):
...
connector.errors.ConfigError: t: 'decode' is a required property
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from connector.errors import ConfigError

__all__ = ["SCHEMA_PATH", "validate_schema"]

SCHEMA_PATH = Path(__file__).with_name("pipeline_schema.json")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def validate_schema(raw: dict[str, Any], name: str) -> None:
    """Raise the most relevant schema violation of ``raw`` (the pipeline called ``name``)."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(raw))
    if error is None:
        return
    steps = error.absolute_path
    where = name + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in steps)
    raise ConfigError(where, _rule(error))


def _rule(error: jsonschema.ValidationError) -> str:
    v, expected = error.validator, error.validator_value
    if isinstance(error.schema, dict) and "x-rule" in error.schema:
        return str(error.schema["x-rule"])  # the schema's own wording for this rule
    rules = {
        "minimum": lambda: f"must be ≥ {expected}",
        "exclusiveMinimum": lambda: f"must be > {expected}",
        "maximum": lambda: f"must be ≤ {expected}",
        "exclusiveMaximum": lambda: f"must be < {expected}",
        "type": lambda: f"must be of type {expected}",
        "enum": lambda: "must be one of " + ", ".join(map(str, expected)),
        "minItems": lambda: f"must have at least {expected} item(s)",
        "minLength": lambda: "must not be empty",
    }
    return rules[v]() if v in rules else error.message
