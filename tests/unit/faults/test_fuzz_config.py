"""Fuzz the pipeline config loader: every bad config is a ``ConfigError`` naming a YAML path.

Valid shipped pipelines are mutated at one place (a value replaced by arbitrary YAML data, or
a key deleted or added); the loader must either accept the result or raise ``ConfigError``
whose path starts with the pipeline's name, and never anything else.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from connector.config import ConfigError, load_pipeline, parse_pipeline

ROOT = Path(__file__).resolve().parents[3]
PIPELINES = sorted((ROOT / "pipelines").glob("*.yaml"))

yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _paths(node, prefix=()):
    """Every (path, value) in a YAML tree (dict keys and list indices)."""
    yield prefix, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


def _set(tree, path, value, op):
    *parents, last = path
    node = tree
    for key in parents:
        node = node[key]
    if op == "delete":
        del node[last]
    elif op == "add" and isinstance(node[last], dict):
        node[last]["fuzz_unknown_key"] = value
    else:
        node[last] = value


def _loads_or_config_error(raw, name):
    try:
        return parse_pipeline(raw, env={}, default_name=name)
    except ConfigError as exc:
        assert exc.rule.strip(), "a config error must say which rule failed"
        head = str(raw.get("name", name)) if isinstance(raw, dict) else name
        assert exc.path.split(".")[0].split("[")[0] == head or exc.path.startswith(head), exc
        return None


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: p.stem)
@given(data=st.data())
def test_mutated_pipeline(pipeline, data):
    raw = yaml.safe_load(pipeline.read_text(encoding="utf-8"))
    paths = [p for p, _ in _paths(raw) if p and p[0] != "name"]
    path = data.draw(st.sampled_from(paths), label="path")
    op = data.draw(st.sampled_from(["replace", "delete", "add"]), label="op")
    mutated = copy.deepcopy(raw)
    _set(mutated, path, data.draw(yaml_values, label="value"), op)
    _loads_or_config_error(mutated, pipeline.stem)


@given(yaml_values)
def test_arbitrary_tree(raw):
    _loads_or_config_error(raw, "fuzz")


@given(st.text(max_size=200))
def test_arbitrary_yaml_text(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("cfg") / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_pipeline(path, env={})
    except ConfigError as exc:
        assert exc.path and exc.rule
