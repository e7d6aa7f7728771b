"""Which entities (rooms, users) changed after a stream position, in memory.

Lets an incremental /sync skip every room that has not changed since the
client's token without asking the database. Positions before the cache's
``earliest_known`` (server start) are answered "maybe", so callers fall back
to the database only then.
"""

from __future__ import annotations

from collections.abc import Collection


class StreamChangeCache:
    """The last position at which each entity changed."""

    def __init__(self, name: str, earliest_known: int) -> None:
        self.name = name
        self.earliest_known = earliest_known
        self._last_change: dict[str, int] = {}

    def entity_has_changed(self, entity: str, position: int) -> None:
        """Record a change of ``entity`` at ``position``."""
        if position > self._last_change.get(entity, -1):
            self._last_change[entity] = position

    def has_entity_changed(self, entity: str, since: int) -> bool:
        """Whether ``entity`` may have changed after ``since``."""
        if since < self.earliest_known:
            return True
        return self._last_change.get(entity, -1) > since

    def changed_entities(
        self, entities: Collection[str], since: int
    ) -> set[str] | None:
        """Those of ``entities`` that changed after ``since``; None if unknown."""
        if since < self.earliest_known:
            return None
        return {e for e in entities if self._last_change.get(e, -1) > since}
