"""Cache-directory layout, env selection and the module doctests of provision/."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

import provision
from provision import layout, stack


def test_cache_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("OUTLIER_CACHE_DIR", str(tmp_path))
    assert layout.cache_dir() == tmp_path
    monkeypatch.delenv("OUTLIER_CACHE_DIR")
    assert layout.cache_dir().parts[-2:] == (".cache", "outlier-connector")


def test_traversable_by_others():
    # directly under /tmp (1777), not pytest's tmp_path whose parents are private
    top = Path(tempfile.mkdtemp(prefix="oc-layout-", dir="/tmp"))
    try:
        inner = top / "inner"
        inner.mkdir()
        top.chmod(0o700)
        assert not layout.traversable_by_others(inner)
        top.chmod(0o711)
        assert top.stat().st_mode & stat.S_IXOTH
        assert layout.traversable_by_others(inner)
    finally:
        shutil.rmtree(top)


def test_env_named_servers_provision_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("OUTLIER_CACHE_DIR", str(tmp_path / "never-created"))
    monkeypatch.setenv("OUTLIER_KAFKA_BOOTSTRAP", "kafka.example:9092")
    monkeypatch.setenv("OUTLIER_OPENSEARCH_URL", "https://search.example:9200/")
    found = provision.servers(start=True)
    assert found == provision.Servers("kafka.example:9092", "https://search.example:9200", False)
    assert not (tmp_path / "never-created").exists()


@pytest.mark.parametrize(
    "name", sorted(m.name for m in pkgutil.iter_modules(provision.__path__, "provision."))
)
def test_module_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_status_without_a_stack_says_stopped(monkeypatch, tmp_path):
    monkeypatch.setenv("OUTLIER_CACHE_DIR", str(tmp_path))
    lines = stack.status(layout.Layout(tmp_path))
    assert lines[0].startswith("kafka") and "stopped" in lines[0]
    assert "opensearch" in lines[1] and "stopped" in lines[1]
