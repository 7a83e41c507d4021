"""OpenSearch plugin zips: install every one Maven has for our version, skip the rest loudly.

The outcome is recorded in ``plugins.json`` next to the install so a second ``up`` does not
ask Maven again and ``status`` can say what is missing and why.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path

from provision import maven, versions
from provision.errors import ProvisionError
from provision.layout import Layout

log = logging.getLogger(__name__)


def load(layout: Layout) -> dict:
    """The recorded outcome: ``{"installed": {name: coords}, "unavailable": {name: reason}}``."""
    try:
        return json.loads(layout.plugins_file.read_text())
    except (OSError, ValueError):
        return {"installed": {}, "unavailable": {}}


def install_all(layout: Layout, java_home: Path, refresh: bool = False) -> dict:
    """Install each plugin of ``versions.OPENSEARCH_PLUGINS`` that can be fetched."""
    outcome = load(layout)
    if layout.plugins_file.exists() and not refresh:
        return outcome
    home = layout.opensearch.home
    for name, coords in versions.OPENSEARCH_PLUGINS.items():
        if (home / "plugins" / name).is_dir():
            outcome["installed"][name] = coords
            continue
        art = maven.Artifact.parse(coords)
        out = layout.downloads / "plugin-zips"
        try:
            maven.copy_dependencies(
                [art], layout.downloads / f"{name}-pom", out, transitive=False, refresh=True
            )
            _install_zip(home, out / art.file_name, java_home)
        except ProvisionError as exc:
            log.warning("OpenSearch plugin %s unavailable, continuing without it: %s", name, exc)
            outcome["unavailable"][name] = str(exc)
            continue
        outcome["installed"][name] = coords
        outcome["unavailable"].pop(name, None)
        log.info("installed OpenSearch plugin %s (%s)", name, coords)
    layout.plugins_file.parent.mkdir(parents=True, exist_ok=True)
    layout.plugins_file.write_text(json.dumps(outcome, indent=2) + "\n")
    return outcome


def _install_zip(home: Path, zip_path: Path, java_home: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OPENSEARCH_JAVA_HOME": str(java_home),
        "OPENSEARCH_PATH_CONF": str(home / "config"),
    }
    cmd = [str(home / "bin" / "opensearch-plugin"), "install", "--batch", zip_path.as_uri()]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ProvisionError(f"opensearch-plugin install {zip_path.name} failed: {proc.stderr}")


def summary(outcome: dict) -> str:
    """One line for ``status``.

    >>> summary({"installed": {"a": "x"}, "unavailable": {"b": "404"}})
    'installed: a; unavailable: b'
    """
    inst = ", ".join(sorted(outcome.get("installed", {}))) or "none"
    missing = ", ".join(sorted(outcome.get("unavailable", {}))) or "none"
    return f"installed: {inst}; unavailable: {missing}"
