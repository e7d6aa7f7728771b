"""Which events are known to have no children in the relations index.

Bundled aggregations ask the index about every page of events served (each
/sync timeline of every user, /messages, /context), and nearly all events
have no relations. This cache remembers, per parent event, the relation types
it was found to have no servable child of, so that the same new event served
to every member of a room is looked up once. The event persister, which
writes the index, invalidates a parent whenever a child of it is persisted
(new, backfilled or de-outliered); redactions only ever take children away,
so they need no invalidation.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from homeserver.util.caches import LruCache

CACHE_SIZE = 100_000


class ChildlessParents:
    """Parent event ID -> the relation types it has no servable child of."""

    def __init__(self, max_size: int = CACHE_SIZE) -> None:
        self._absent: LruCache[str, frozenset[str]] = LruCache(
            "childless_parents", max_size
        )
        # Bumped on every invalidation: a read that began before a child was
        # written does not cache what it found.
        self.generation = 0

    def unknown(
        self, parent_ids: Iterable[str], rel_types: Collection[str]
    ) -> list[str]:
        """The parents that may have a child of one of ``rel_types``."""
        wanted = frozenset(rel_types)
        out = []
        for parent_id in parent_ids:
            absent = self._absent.get(parent_id)
            if absent is None or not wanted <= absent:
                out.append(parent_id)
        return out

    def note_childless(
        self, parent_ids: Iterable[str], rel_types: Collection[str], generation: int
    ) -> None:
        """Remember that ``parent_ids`` had no child of ``rel_types`` in a read
        that began at ``generation`` (ignored if a child was written since)."""
        if generation != self.generation:
            return
        found = frozenset(rel_types)
        for parent_id in parent_ids:
            absent = self._absent.get(parent_id)
            self._absent.set(parent_id, found if absent is None else absent | found)

    def invalidate(self, parent_id: str) -> None:
        """A child of ``parent_id`` was written."""
        self.generation += 1
        self._absent.invalidate(parent_id)

    @property
    def cache(self) -> LruCache[str, frozenset[str]]:
        """The parents' absent types (shared between processes)."""
        return self._absent

    def forget_replicated(self, parent_ids: list[str]) -> None:
        """Another process wrote children of these parents (none: any)."""
        self.generation += 1
        self._absent.forget_keys(parent_ids)
