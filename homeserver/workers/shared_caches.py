"""Caches kept correct across processes (docs/architecture.md, "Workers:
every cache").

A shared cache publishes each invalidation made in this process on
``{prefix}:rs:caches``; the other processes forget the same keys (and bump
the owner's generation, so a read that raced the write does not cache what
it found). ``Database.watch_writes`` callbacks (the access-token cache) ride
the same stream: a process that committed a watched write tells the others,
which run their callbacks. So does ``room_forgotten`` (``share_forgotten``):
/forget runs where it is served, and the other processes' sliding-sync room
lists drop what they remember of the user's rooms.
"""

from __future__ import annotations

from typing import Any, Protocol

from homeserver.signals import RoomForgotten, Signal
from homeserver.storage.database import Database
from homeserver.util.caches import LruCache
from homeserver.workers.replication import Replication

DB_WATCH = "db_watch_writes"
"""The caches stream's name for ``watch_writes`` callbacks."""
FORGOTTEN = "room_forgotten"
"""The caches stream's name for ``room_forgotten``: keys ``[user_id, room_id]``."""


class SharedCache(Protocol):
    """A cache owner whose entries another process may make stale."""

    @property
    def cache(self) -> LruCache[Any, Any]: ...

    def forget_replicated(self, keys: list[Any]) -> None: ...


def _key(value: Any) -> Any:
    """A key back from JSON (tuples travel as lists)."""
    return tuple(value) if isinstance(value, list) else value


def share(replication: Replication, owner: SharedCache) -> None:
    """Publish ``owner``'s invalidations; apply the other processes'."""
    cache = owner.cache
    name = cache.name

    def published(keys: list[Any]) -> None:
        replication.invalidate(name, keys)

    def received(keys: list[Any]) -> None:
        owner.forget_replicated([_key(k) for k in keys])

    cache.on_invalidate = published
    replication.add_invalidation_sink(name, received)


def share_write_watchers(replication: Replication, db: Database) -> None:
    """Run ``db.watch_writes`` callbacks in every process: those of the
    tables written (the keys are table names; none, after a gap: all)."""
    db.on_watched_write = lambda tables: replication.invalidate(
        DB_WATCH, sorted(tables)
    )
    replication.add_invalidation_sink(DB_WATCH, db.run_write_watchers)


class ForgetReceiver(Protocol):
    """What remembers a user's rooms until they forget one (sliding sync's
    room list)."""

    def on_room_forgotten(self, forgotten: RoomForgotten) -> None: ...

    def forget_all(self) -> None: ...


def share_forgotten(
    replication: Replication, signal: Signal[RoomForgotten], receiver: ForgetReceiver
) -> None:
    """Tell the other processes of each ``room_forgotten`` here; hand theirs
    to ``receiver`` (after a gap in the caches stream: everything)."""

    def published(forgotten: RoomForgotten) -> None:
        replication.invalidate(FORGOTTEN, [[forgotten.user_id, forgotten.room_id]])

    def received(keys: list[Any]) -> None:
        if not keys:
            receiver.forget_all()
        for user_id, room_id in keys:
            receiver.on_room_forgotten(RoomForgotten(user_id, room_id))

    signal.connect(published, name="share_forgotten")
    replication.add_invalidation_sink(FORGOTTEN, received)
