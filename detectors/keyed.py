"""Keyed models: one model per key, cloned from a prototype, bounded with LRU eviction."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Any

__all__ = ["KeyedModels"]


class KeyedModels:
    """A pool of per-key models cloned from a prototype, bounded by count and by memory.

    The least recently used key is evicted when the pool holds more than ``max_keys``
    models or its estimated size exceeds ``max_bytes``. The size is ``len(pool) *
    bytes_per_model``, where ``bytes_per_model`` is the largest size measured so far: the
    pickled size (which covers krcf's native forest) plus River's ``_raw_memory_usage``
    (Python objects such as HST's trees). The most recently used model is measured every
    ``measure_every`` look-ups and every 100th new key; models grow until their sample or
    window is full, then stay flat. Sizes are rounded up to 4 KiB. It is an estimate:
    resident memory measured by ``python -m detectors.bench`` is about 1.05x-1.3x of it for
    RCF and 1.1x for HST. An evicted key that comes back starts a fresh model.

    Parameters
    ----------
    prototype
        A River estimator; each new key gets ``prototype.clone()`` (same params, no state).
    max_keys
        Maximum number of models (``None``: unbounded).
    max_bytes
        Maximum estimated bytes for all models (``None``: unbounded).
    measure_every
        Look-ups between two size measurements of the most recently used model.

    Examples
    --------
    >>> from river import anomaly
    >>> pool = KeyedModels(anomaly.HalfSpaceTrees(seed=1), max_keys=2)
    >>> for key in ["a", "b", "a", "c"]:
    ...     pool.get(key).learn_one({"x": 0.5})
    >>> sorted(pool), pool.evictions
    (['a', 'c'], 1)
    """

    def __init__(
        self,
        prototype: Any,
        max_keys: int | None = 10_000,
        max_bytes: int | None = None,
        measure_every: int = 10_000,
    ) -> None:
        if max_keys is not None and max_keys < 1:
            raise ValueError(f"max_keys must be >= 1, got {max_keys}")
        self.prototype = prototype
        self.max_keys = max_keys
        self.max_bytes = max_bytes
        self.measure_every = measure_every
        self.evictions = 0
        self.created = 0
        self.bytes_per_model = 0
        self._models: OrderedDict[Hashable, Any] = OrderedDict()
        self._lookups = 0

    def __getstate__(self) -> dict[str, Any]:
        st = self.__dict__.copy()
        st["_models"] = [
            (key, m if type(m) is bytes else pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL))
            for key, m in self._models.items()
        ]
        return st

    def __setstate__(self, st: dict[str, Any]) -> None:
        st["_models"] = OrderedDict(st["_models"])  # LRU order kept; values stay bytes
        self.__dict__.update(st)

    def _thaw(self, key: Hashable, model: Any) -> Any:
        if type(model) is bytes:  # restored lazily: unpickle on first use
            model = pickle.loads(model)  # noqa: S301 (bytes this pool pickled itself)
            self._models[key] = model
        return model

    def __len__(self) -> int:
        return len(self._models)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._models)

    def __contains__(self, key: object) -> bool:
        return key in self._models

    @property
    def bytes(self) -> int:
        """Estimated bytes held by the pool (keys x ``bytes_per_model``)."""
        return len(self._models) * self.bytes_per_model

    def counters(self) -> dict[str, int]:
        """Counters for monitoring: keys, created, evictions, bytes, bytes_per_model."""
        return {
            "keys": len(self._models),
            "created": self.created,
            "evictions": self.evictions,
            "bytes": self.bytes,
            "bytes_per_model": self.bytes_per_model,
        }

    def measure(self, model: Any) -> int:
        """Estimated bytes of ``model``; raises ``bytes_per_model`` if larger."""
        size = len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
        size += int(getattr(model, "_raw_memory_usage", 0))
        # Round up to 4 KiB: a restored model pickles and sizes a few bytes differently
        # (dict capacities), and the byte bound must evict the same keys after a restore.
        size = -(-size // 4096) * 4096
        self.bytes_per_model = max(self.bytes_per_model, size)
        return size

    def get(self, key: Hashable) -> Any:
        """The model of ``key``, created from the prototype if absent (may evict others).

        Examples
        --------
        >>> from river import anomaly
        >>> pool = KeyedModels(anomaly.HalfSpaceTrees(n_trees=2, seed=1))
        >>> pool.get("a") is pool.get("a"), pool.created
        (True, 1)
        """
        models = self._models
        self._lookups += 1
        model = models.get(key)
        if model is None:
            model = self.prototype.clone()
            models[key] = model
            self.created += 1
            if self.bytes_per_model == 0 or self.created % 100 == 0:
                self.measure(self._most_recent_grown() or model)
            self._evict()
        else:
            models.move_to_end(key)
            model = self._thaw(key, model)
        if self._lookups % self.measure_every == 0:
            self.measure(model)
            self._evict()
        return model

    def _most_recent_grown(self) -> Any | None:
        """The most recently used model other than the one just created (it is empty)."""
        if len(self._models) < 2:
            return None
        it = reversed(self._models.values())
        next(it)
        model = next(it)
        return None if type(model) is bytes else model

    def peek(self, key: Hashable) -> Any | None:
        """The model of ``key`` if present, without touching the LRU order."""
        model = self._models.get(key)
        return None if model is None else self._thaw(key, model)

    def _evict(self) -> None:
        models = self._models
        while len(models) > 1 and (
            (self.max_keys is not None and len(models) > self.max_keys)
            or (self.max_bytes is not None and self.bytes > self.max_bytes)
        ):
            models.popitem(last=False)
            self.evictions += 1
