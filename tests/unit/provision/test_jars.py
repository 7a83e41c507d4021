"""Jar selection for hand-assembled modules and the break-iterator-only ICU jar."""

from __future__ import annotations

import zipfile
from pathlib import Path

from provision import modules, segmentation


def _touch(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / n for n in names]
    for p in paths:
        p.write_bytes(b"")
    return paths


def test_module_jars_drop_what_lib_already_has(tmp_path):
    lib = tmp_path / "lib"
    _touch(lib, "lucene-core-10.5.0.jar", "opensearch-3.8.0.jar", "opensearch-core-3.8.0.jar")
    fetched = _touch(
        tmp_path / "fetched",
        "lang-painless-3.8.0.jar",
        "opensearch-scripting-painless-spi-3.8.0.jar",
        "antlr4-runtime-4.13.1.jar",
        "lucene-core-10.4.0.jar",  # other version of a lib/ jar: still jar hell
        "opensearch-3.8.0.jar",
        "opensearch-core-3.8.0.jar",
        "notes.txt",
    )
    kept = [p.name for p in modules.module_jars(fetched, lib)]
    assert kept == [
        "lang-painless-3.8.0.jar",
        "opensearch-scripting-painless-spi-3.8.0.jar",
        "antlr4-runtime-4.13.1.jar",
    ]


def test_jar_stem_strips_versions_only():
    assert modules.jar_stem("netty-codec-4.1.105.Final.jar") == "netty-codec"
    assert modules.jar_stem("scala-library-2.13.15.jar") == "scala-library"
    assert modules.jar_stem("lang-mustache-client-3.8.0.jar") == "lang-mustache-client"


def test_filter_services_keeps_only_the_break_iterator(tmp_path):
    src = tmp_path / "spi.jar"
    with zipfile.ZipFile(src, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        jar.writestr("META-INF/services/", "")
        jar.writestr("META-INF/services/java.text.spi.BreakIteratorProvider", "icu.Break\n")
        jar.writestr("META-INF/services/java.text.spi.DateFormatProvider", "icu.Date\n")
        jar.writestr("com/ibm/icu/Break.class", b"\xca\xfe")
    dest = tmp_path / "out.jar"
    dropped = segmentation.filter_services(src, dest)
    assert dropped == ["META-INF/services/java.text.spi.DateFormatProvider"]
    with zipfile.ZipFile(dest) as jar:
        names = set(jar.namelist())
        assert "META-INF/services/java.text.spi.BreakIteratorProvider" in names
        assert "META-INF/services/java.text.spi.DateFormatProvider" not in names
        assert jar.read("com/ibm/icu/Break.class") == b"\xca\xfe"
