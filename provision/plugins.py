"""OpenSearch plugin zips: install every one Maven has for our version, skip the rest loudly.

The outcome is recorded in ``plugins.json`` next to the install so a second ``up`` does not
ask Maven again and ``status`` can say what is missing and why.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
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
    """Install each plugin of ``versions.OPENSEARCH_PLUGINS`` that can be fetched.

    The zips are fetched two at a time (each ``mvn`` run mostly waits on the network), then
    installed one by one with ``bin/opensearch-plugin``.
    """
    outcome = load(layout)
    if layout.plugins_file.exists() and not refresh:
        return outcome
    home = layout.opensearch.home
    wanted = {
        name: maven.Artifact.parse(coords)
        for name, coords in versions.OPENSEARCH_PLUGINS.items()
        if not (home / "plugins" / name).is_dir()
    }
    outcome["installed"].update(
        (n, c) for n, c in versions.OPENSEARCH_PLUGINS.items() if n not in wanted
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_fetch, layout, name, art) for name, art in wanted.items()}
        fetched = {name: future.result() for name, future in futures.items()}
    for name, art in wanted.items():
        try:
            if isinstance(fetched[name], ProvisionError):
                raise fetched[name]
            _install_zip(home, fetched[name], java_home)
        except ProvisionError as exc:
            log.warning("OpenSearch plugin %s unavailable, continuing without it: %s", name, exc)
            outcome["unavailable"][name] = str(exc)
            continue
        outcome["installed"][name] = art.coords
        outcome["unavailable"].pop(name, None)
        log.info("installed OpenSearch plugin %s (%s)", name, art.coords)
    layout.plugins_file.parent.mkdir(parents=True, exist_ok=True)
    layout.plugins_file.write_text(json.dumps(outcome, indent=2) + "\n")
    return outcome


def _fetch(layout: Layout, name: str, art: maven.Artifact) -> Path | ProvisionError:
    """The downloaded zip, or the error saying why it could not be had."""
    out = layout.downloads / "plugin-zips" / name
    try:
        maven.copy_dependencies(
            [art], layout.downloads / f"{name}-pom", out, transitive=False, refresh=True
        )
    except ProvisionError as exc:
        return exc
    return out / art.file_name


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
