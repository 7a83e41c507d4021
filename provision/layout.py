"""Where the local stack keeps its files: a cache directory outside the repository.

``OUTLIER_CACHE_DIR`` overrides the default ``~/.cache/outlier-connector``. Downloads, Kafka
and OpenSearch installs, data, logs and pid files all live below it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from provision import versions


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The cache directory (not created): ``OUTLIER_CACHE_DIR`` or the default.

    >>> str(cache_dir({"OUTLIER_CACHE_DIR": "/tmp/oc-doctest"}))
    '/tmp/oc-doctest'
    >>> cache_dir({}).parts[-2:]
    ('.cache', 'outlier-connector')
    """
    override = environ.get("OUTLIER_CACHE_DIR")
    if override:
        return Path(override).expanduser().resolve()
    return Path.home() / ".cache" / "outlier-connector"


@dataclass(frozen=True)
class ServerLayout:
    """Paths of one server: its install, data, logs and pid file."""

    name: str
    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.root / f"{self.name}.pid"


@dataclass(frozen=True)
class Layout:
    """All paths of the local stack below one cache directory.

    >>> lay = Layout(Path("/c"))
    >>> str(lay.kafka.home), str(lay.opensearch.pid_file)
    ('/c/kafka-3.9.1/home', '/c/opensearch-3.8.0/opensearch.pid')
    """

    cache: Path
    opensearch_root: Path | None = None

    @property
    def downloads(self) -> Path:
        return self.cache / "downloads"

    @property
    def lock_file(self) -> Path:
        return self.cache / "stack.lock"

    @property
    def kafka(self) -> ServerLayout:
        return ServerLayout("kafka", self.cache / f"kafka-{versions.KAFKA_VERSION}")

    @property
    def opensearch(self) -> ServerLayout:
        root = self.opensearch_root or self.cache / f"opensearch-{versions.OPENSEARCH_VERSION}"
        return ServerLayout("opensearch", root)

    @property
    def plugins_file(self) -> Path:
        """JSON record of which OpenSearch plugins were installed or unavailable."""
        return self.opensearch.root / "plugins.json"


def traversable_by_others(path: Path) -> bool:
    """Whether a user who owns none of ``path``'s ancestors can reach it (o+x on each).

    >>> traversable_by_others(Path("/"))
    True
    """
    for part in [path, *path.parents]:
        if part.exists() and not part.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def default_layout() -> Layout:
    """The layout for this process.

    OpenSearch refuses to run as root, so as root it runs as a service user. When that user
    cannot reach the cache directory (the default one sits in root's private home), the
    OpenSearch install and data go to ``/var/lib/outlier-connector/<cache hash>/`` instead of
    loosening the permissions of the home directory.
    """
    cache = cache_dir()
    if os.geteuid() != 0 or traversable_by_others(cache):
        return Layout(cache)
    digest = hashlib.sha256(str(cache).encode()).hexdigest()[:10]
    root = Path("/var/lib/outlier-connector") / digest / f"opensearch-{versions.OPENSEARCH_VERSION}"
    return Layout(cache, opensearch_root=root)
