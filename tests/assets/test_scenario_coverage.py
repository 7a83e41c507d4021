"""Every scenario ships all five parts under the one stem (STYLE.md §7).

The list is the product's scenario list; a missing part fails here by name, so a scenario
that lands half-done shows up as red, not as a silent skip.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("assets_kit", Path(__file__).with_name("_kit.py"))
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)

PARTS = {
    "pipeline": "pipelines/{s}.yaml",
    "generator": "generators/{s}.py",
    "index template": "opensearch/index-templates/{s}.json",
    "saved objects": "dashboards/{s}.ndjson",
    "monitor": "opensearch/monitors/{s}.json",
}


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("scenario", kit.SCENARIOS)
def test_scenario_has_part(scenario, part):
    path = kit.ROOT / PARTS[part].format(s=scenario)
    assert path.is_file(), f"scenario {scenario}: no {part} at {path.relative_to(kit.ROOT)}"


@pytest.mark.parametrize("scenario", kit.SCENARIOS)
def test_pipeline_writes_to_its_templated_index(scenario):
    path = kit.ROOT / "pipelines" / f"{scenario}.yaml"
    if not path.is_file():
        pytest.fail(f"scenario {scenario}: no pipeline yet, cannot check its output index")
    import yaml

    doc = yaml.safe_load(path.read_text())
    index = doc["output"]["index"]
    assert index.startswith(f"outliers-{scenario}"), \
        f"{path.name}: output.index {index} is not matched by outliers-{scenario}*"
