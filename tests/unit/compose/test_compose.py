"""compose/, Dockerfile and .dockerignore, checked offline (no Docker engine here).

The compose file is validated against the Compose Specification's JSON schema as shipped in
the ``check-jsonschema`` package (its vendored ``compose-spec.json``), before and after
interpolating the ``${VAR:-default}`` defaults; every build context, mounted path, command
and pipeline file it names must exist in the repo; image tags equal provision/versions.py.
"""

from __future__ import annotations

import re
import shlex
from importlib import resources
from pathlib import Path

import pytest
import yaml

from connector.cli import build_parser
from provision import versions

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "compose" / "docker-compose.yaml"
SCENARIOS = ("gameday", "tolls", "reviews", "sensors", "flowlogs")
_VAR = re.compile(r"\$\{(?P<name>\w+)(?::?-(?P<default>[^}]*))?\}")


def _interpolate(node, env: dict[str, str]):
    if isinstance(node, dict):
        return {k: _interpolate(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, env) for v in node]
    if isinstance(node, str):
        return _VAR.sub(lambda m: env.get(m["name"], m["default"] or ""), node)
    return node


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def compose(raw) -> dict:
    return _interpolate(raw, {})


def _env_example() -> dict[str, str]:
    lines = (ROOT / "compose" / ".env.example").read_text().splitlines()
    return dict(ln.split("=", 1) for ln in lines if ln.strip() and not ln.startswith("#"))


def test_valid_against_the_compose_specification(raw, compose):
    import jsonschema

    text = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath(
        "compose-spec.json").read_text()
    schema = yaml.safe_load(text)
    validator = jsonschema.validators.validator_for(schema)(schema)
    for doc in (raw, compose, _interpolate(raw, _env_example())):
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    broken = {**compose, "services": {"x": {"image": 5, "ports": "nope"}}}
    assert list(validator.iter_errors(broken)), "the schema must reject a broken file"


def test_build_contexts_and_mounted_paths_exist(compose):
    base = COMPOSE.parent
    named = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            context = (base / build["context"]).resolve()
            assert context.is_dir(), f"{name}: build context {context}"
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source not in named:
                assert (base / source).exists(), f"{name}: mounted path {source} missing"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_service_command_parses_with_the_real_cli(raw, scenario):
    compose = _interpolate(raw, {"SCENARIO": scenario})
    parser = build_parser()
    commands = 0
    for name, service in compose["services"].items():
        if "build" not in service and service.get("image") != "outlier-connector:local":
            continue
        command = service["command"]
        argv = shlex.split(command) if isinstance(command, str) else command
        assert argv[0] == "outlier-connector", f"{name}: {argv}"
        args = parser.parse_args(argv[1:])
        commands += 1
        pipeline = getattr(args, "pipeline", None)
        if pipeline:
            assert (ROOT / pipeline).is_file(), f"{name}: {pipeline} missing"
    assert commands == 3, "setup, connector and generator run the image built from the Dockerfile"


def test_image_tags_equal_provision_versions(compose):
    images = {n: s["image"] for n, s in compose["services"].items()
              if "build" not in s and s["image"] != "outlier-connector:local"}
    assert images == {
        "kafka": f"apache/kafka:{versions.KAFKA_VERSION}",
        "opensearch": f"opensearchproject/opensearch:{versions.OPENSEARCH_VERSION}",
        "dashboards": "opensearchproject/opensearch-dashboards:"
        f"{versions.OPENSEARCH_DASHBOARDS_VERSION}",
    }
    env = _env_example()
    assert env["KAFKA_VERSION"] == versions.KAFKA_VERSION
    assert env["OPENSEARCH_VERSION"] == versions.OPENSEARCH_VERSION


def test_ports_bind_to_loopback_and_security_is_off(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"
    assert compose["services"]["opensearch"]["environment"]["DISABLE_SECURITY_PLUGIN"] == "true"
    kafka = compose["services"]["kafka"]["environment"]
    assert "INTERNAL://kafka:29092" in kafka["KAFKA_ADVERTISED_LISTENERS"]
    assert "EXTERNAL://127.0.0.1:9092" in kafka["KAFKA_ADVERTISED_LISTENERS"]


def test_dockerfile_installs_the_package_and_keeps_the_assets():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r"^RUN pip install \.$", text, re.M)
    ignored = {ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
               if ln.strip() and not ln.startswith("#")}
    for needed in ("opensearch", "dashboards", "pipelines", "connector", "pyproject.toml"):
        assert needed not in ignored and (ROOT / needed).exists(), needed
    assert {".git", ".venv"} <= ignored


def _image_of(service: dict) -> str | None:
    return service.get("image")


def test_no_two_services_build_the_same_image_tag(compose):
    """Compose builds services in parallel; two builds exporting one tag fail ("already exists")."""
    built: dict[str, list[str]] = {}
    for name, service in compose["services"].items():
        if service.get("build"):
            tag = _image_of(service) or f"{compose.get('name', 'compose')}-{name}"
            built.setdefault(tag, []).append(name)
    twice = {tag: names for tag, names in built.items() if len(names) > 1}
    assert not twice, f"services building one tag: {twice}"
    assert built.get("outlier-connector:local") == ["setup"], built
    users = [n for n, s in compose["services"].items()
             if _image_of(s) == "outlier-connector:local" and not s.get("build")]
    assert sorted(users) == ["connector", "generator"], users
    for name in users:  # never pulled from a registry: the tag exists only locally
        assert compose["services"][name].get("pull_policy") == "never", name


def test_the_duplicate_tag_check_sees_a_second_build():
    broken = {"services": {"a": {"build": {"context": ".."}, "image": "x:1"},
                           "b": {"build": {"context": ".."}, "image": "x:1"}}}
    with pytest.raises(AssertionError, match="services building one tag"):
        test_no_two_services_build_the_same_image_tag(broken)


def test_dockerfile_runs_as_a_non_root_user_after_the_install():
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines()]
    users = [i for i, ln in enumerate(lines) if ln.startswith("USER ")]
    assert users, "the image must set a USER"
    user = lines[users[-1]].split()[1]
    assert user not in ("root", "0", "0:0"), user
    install = max(i for i, ln in enumerate(lines) if ln.startswith("RUN pip install"))
    assert users[-1] > install, "USER must come after the root-owned install"
    assert any(ln.startswith("RUN useradd") and user in ln for ln in lines[:users[-1]])


def test_dockerfile_healthcheck_runs_a_real_cli_command():
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK .*CMD (\[.*\])\s*$", text, re.M)
    assert match, "HEALTHCHECK with an exec-form CMD"
    import json

    argv = json.loads(match[1])
    assert argv[0] == "outlier-connector"
    args = build_parser().parse_args(argv[1:])
    assert args.pipelines, argv
    for path in args.pipelines:
        assert (ROOT / path).is_file(), path
