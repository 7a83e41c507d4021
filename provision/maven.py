"""Fetch artifacts from Maven Central with ``mvn``, the client configured on this machine.

A throwaway POM listing the artifacts is written into a work directory in the cache, then
``mvn -q -B dependency:copy-dependencies`` copies them (and, unless told otherwise, their
runtime dependencies) into an output directory. Maven's own ``~/.m2`` cache makes a repeat
fetch cheap.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from provision.errors import ProvisionError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifact:
    """Maven coordinates ``group:artifact:version[:type]``.

    >>> Artifact.parse("org.example:thing:1.0:zip")
    Artifact(group='org.example', name='thing', version='1.0', type='zip')
    >>> Artifact.parse("org.example:thing:1.0").file_name
    'thing-1.0.jar'
    """

    group: str
    name: str
    version: str
    type: str = "jar"

    @classmethod
    def parse(cls, coords: str) -> Artifact:
        parts = coords.split(":")
        if len(parts) not in (3, 4) or not all(parts):
            raise ValueError(f"not Maven coordinates group:artifact:version[:type]: {coords!r}")
        return cls(*parts)

    @property
    def coords(self) -> str:
        return f"{self.group}:{self.name}:{self.version}:{self.type}"

    @property
    def file_name(self) -> str:
        return f"{self.name}-{self.version}.{self.type}"


def pom_xml(artifacts: list[Artifact], transitive: bool = True) -> str:
    """A minimal POM whose dependencies are ``artifacts``.

    >>> xml = pom_xml([Artifact.parse("a:b:1")], transitive=False)
    >>> "<artifactId>b</artifactId>" in xml and "<exclusion>" in xml
    True
    """
    deps = []
    for art in artifacts:
        exclusions = (
            "<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId>"
            "</exclusion></exclusions>"
            if not transitive
            else ""
        )
        deps.append(
            "    <dependency>"
            f"<groupId>{escape(art.group)}</groupId>"
            f"<artifactId>{escape(art.name)}</artifactId>"
            f"<version>{escape(art.version)}</version>"
            f"<type>{escape(art.type)}</type>{exclusions}</dependency>"
        )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>local.outlier-connector</groupId><artifactId>fetch</artifactId>"
        "<version>0</version>\n"
        "  <dependencies>\n" + "\n".join(deps) + "\n  </dependencies>\n</project>\n"
    )


def _mvn_error(output: str) -> str:
    """The first ``[ERROR]`` line of Maven's output (the one naming the artifact)."""
    for line in output.splitlines():
        if "[ERROR]" in line and line.strip() != "[ERROR]":
            return line.split("[ERROR]", 1)[1].strip()
    return output.strip()[-500:]


def copy_dependencies(
    artifacts: list[Artifact],
    work_dir: Path,
    output_dir: Path,
    transitive: bool = True,
    refresh: bool = False,
) -> list[Path]:
    """Download ``artifacts`` into ``output_dir``; return the files copied there.

    ``refresh`` asks the remote again for artifacts Maven remembers as missing (``-U``).

    Raises
    ------
    ProvisionError
        ``mvn`` is missing or the download failed; the message names the artifacts.
    """
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ProvisionError("mvn (Apache Maven) is not on PATH: apt-get install maven")
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "pom.xml").write_text(pom_xml(artifacts, transitive))
    cmd = [
        mvn, "-q", "-B", *(["-U"] if refresh else []), "-f", str(work_dir / "pom.xml"),
        "dependency:copy-dependencies", f"-DoutputDirectory={output_dir}",
        "-DincludeScope=runtime",
    ]  # fmt: skip
    names = ", ".join(a.coords for a in artifacts)
    log.info("fetching from Maven: %s", names)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=work_dir, check=False)
    if proc.returncode != 0:
        detail = _mvn_error(proc.stdout + proc.stderr)
        raise ProvisionError(f"could not download {names} with mvn: {detail}")
    return sorted(output_dir.iterdir())
