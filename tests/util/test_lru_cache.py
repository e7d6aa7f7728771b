"""LruCache.get_many: the hits of many keys under one lock, refreshed as
``get`` refreshes them, and counted as hits and misses in /metrics."""

from __future__ import annotations

from prometheus_client import REGISTRY

from homeserver.util.caches import LruCache


def _lookups(name: str, hit: bool) -> float:
    value = REGISTRY.get_sample_value(
        "homeserver_cache_lookups_total", {"name": name, "hit": str(hit)}
    )
    return value or 0.0


def test_get_many_returns_the_hits_and_refreshes_them() -> None:
    cache: LruCache[str, int] = LruCache("test_get_many", 3)
    for key, value in (("a", 1), ("b", 2), ("c", 3)):
        cache.set(key, value)
    hits, misses = _lookups("test_get_many", True), _lookups("test_get_many", False)
    assert cache.get_many(["a", "x", "c", "y"]) == {"a": 1, "c": 3}
    assert _lookups("test_get_many", True) == hits + 2
    assert _lookups("test_get_many", False) == misses + 2
    # "a" and "c" were refreshed: "b" is now the least recently used.
    cache.set("d", 4)
    assert cache.get_many(["a", "b", "c", "d"]) == {"a": 1, "c": 3, "d": 4}
    assert cache.get_many([]) == {}
