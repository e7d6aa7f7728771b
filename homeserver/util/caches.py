"""A small bounded LRU cache, owned and invalidated by the store that fills it.

In a worker deployment the caches whose data another process may change are
shared (``homeserver/workers/shared_caches.py``): ``on_invalidate`` then
publishes each invalidation, and the other processes ``forget`` the keys.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

K = TypeVar("K")
V = TypeVar("V")


class _Lookups:
    """The hits and misses of the caches of one name: plain ints, added under
    the cache's lock and turned into a counter only when /metrics is read (a
    labelled Prometheus counter takes a lock of its own for every add, and
    every /sync pass looks up a dozen caches)."""

    __slots__ = ("hits", "misses")

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0


# name -> its lookups; a process has one cache of each name (tests build
# many servers: theirs add up).
_LOOKUPS: dict[str, _Lookups] = {}


class _LookupsCollector(Collector):
    def collect(self) -> list[Metric]:
        family = CounterMetricFamily(
            "homeserver_cache_lookups", "Cache lookups", labels=["name", "hit"]
        )
        for name, lookups in list(_LOOKUPS.items()):
            family.add_metric([name, "True"], lookups.hits)
            family.add_metric([name, "False"], lookups.misses)
        return [family]


REGISTRY.register(_LookupsCollector())


class LruCache(Generic[K, V]):
    """Least-recently-used cache of at most ``max_size`` entries; thread-safe."""

    def __init__(self, name: str, max_size: int) -> None:
        self.name = name
        self.max_size = max_size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self._lookups = _LOOKUPS.setdefault(name, _Lookups())
        # Told the keys invalidated here ([] for all); None unless shared.
        self.on_invalidate: Callable[[list[Any]], None] | None = None

    def get(self, key: K) -> V | None:
        """The cached value, or None."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
                self._lookups.hits += 1
            else:
                self._lookups.misses += 1
        return value

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The cached values of those of ``keys`` that have one: ``get`` for
        many keys under one lock (a message's push rules for each member of
        a big room)."""
        found: dict[K, V] = {}
        asked = 0
        with self._lock:
            data = self._data
            for key in keys:
                asked += 1
                value = data.get(key)
                if value is not None:
                    data.move_to_end(key)
                    found[key] = value
            self._lookups.hits += len(found)
            self._lookups.misses += asked - len(found)
        return found

    def set(self, key: K, value: V) -> None:
        """Cache a value, evicting the least recently used past the bound."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_size:
                self._data.popitem(last=False)

    def invalidate(self, key: K) -> None:
        """Forget one key (in every process, when shared)."""
        self.forget(key)
        if self.on_invalidate is not None:
            self.on_invalidate([key])

    def clear(self) -> None:
        """Forget everything (in every process, when shared)."""
        self.forget_all()
        if self.on_invalidate is not None:
            self.on_invalidate([])

    def forget(self, key: K) -> None:
        """Forget one key here only."""
        with self._lock:
            self._data.pop(key, None)

    def forget_all(self) -> None:
        """Forget everything here only."""
        with self._lock:
            self._data.clear()

    def forget_keys(self, keys: list[K]) -> None:
        """Forget ``keys`` here only; none: everything (what another process
        published it invalidated)."""
        if not keys:
            self.forget_all()
        for key in keys:
            self.forget(key)

    def __len__(self) -> int:
        return len(self._data)
