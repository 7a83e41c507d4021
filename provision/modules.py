"""OpenSearch modules assembled by hand from Maven jars, when a distribution lacks them.

A module is a folder under ``modules/`` holding the plugin's jar, its runtime dependencies,
``plugin-descriptor.properties`` and ``plugin-security.policy``. Jars the server already has in
``lib/`` must not be copied again: two copies of a class on the class path is "jar hell" and
OpenSearch refuses to start.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from provision import maven

log = logging.getLogger(__name__)

# What the scripting modules need from the security manager (the same grants the shipped
# modules ask for): painless generates classes, mustache reflects on the template's values.
SECURITY_POLICY = """grant {
  permission java.lang.RuntimePermission "createClassLoader";
  permission java.lang.RuntimePermission "getClassLoader";
  permission java.lang.RuntimePermission "accessDeclaredMembers";
  permission java.lang.reflect.ReflectPermission "suppressAccessChecks";
};
"""


def descriptor(
    name: str, classname: str, version: str, description: str = "", java_version: str = "21"
) -> str:
    """The text of ``plugin-descriptor.properties`` for a module.

    >>> text = descriptor("lang-painless", "org.opensearch.painless.PainlessModulePlugin", "3.8.0")
    >>> "classname=org.opensearch.painless.PainlessModulePlugin" in text
    True
    >>> "opensearch.version=3.8.0" in text
    True
    """
    props = {
        "description": description or f"{name} module",
        "version": version,
        "name": name,
        "classname": classname,
        "java.version": java_version,
        "opensearch.version": version,
        "custom.foldername": "",
        "extended.plugins": "",
        "has.native.controller": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


_VERSIONED_JAR = re.compile(r"^(?P<stem>.+?)-\d[\w.\-]*\.jar$")


def jar_stem(file_name: str) -> str:
    """A jar's name without its version, to compare against ``lib/``.

    >>> jar_stem("lucene-core-10.5.0.jar"), jar_stem("asm-9.10.1.jar"), jar_stem("x.jar")
    ('lucene-core', 'asm', 'x')
    """
    match = _VERSIONED_JAR.match(file_name)
    return match["stem"] if match else file_name.removesuffix(".jar")


def module_jars(candidates: list[Path], lib_dir: Path) -> list[Path]:
    """The candidate jars that are not already on the server's class path (``lib/``).

    Any jar whose name (without version) matches one in ``lib/`` is dropped, whatever its
    version, and so are OpenSearch's own core jars (``opensearch-<x>``) the server provides.
    """
    present = {jar_stem(p.name) for p in lib_dir.glob("*.jar")}
    kept = []
    for jar in candidates:
        stem = jar_stem(jar.name)
        if jar.suffix != ".jar" or stem in present:
            continue
        kept.append(jar)
    return kept


def has_module(home: Path, name: str) -> bool:
    return (home / "modules" / name / "plugin-descriptor.properties").is_file()


def assemble(
    home: Path, name: str, coords: str, classname: str, version: str, work_dir: Path
) -> Path:
    """Build ``modules/<name>`` from the module's Maven jar and its transitive dependencies."""
    artifact = maven.Artifact.parse(coords)
    fetched = work_dir / f"{name}-jars"
    shutil.rmtree(fetched, ignore_errors=True)
    jars = maven.copy_dependencies([artifact], work_dir / f"{name}-pom", fetched)
    target = home / "modules" / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for jar in module_jars(jars, home / "lib"):
        shutil.copy2(jar, target / jar.name)
    (target / "plugin-descriptor.properties").write_text(descriptor(name, classname, version))
    (target / "plugin-security.policy").write_text(SECURITY_POLICY)
    log.info("assembled module %s from %s (%d jars)", name, coords, len(list(target.glob("*.jar"))))
    return target
