"""Each room's forward extremities, remembered in memory.

A new local event reads its room's forward extremities (its prev events);
the previous event's persist has just written them. So the set is read from
the database once per room and then kept up to date by the writes
themselves: every persist that may change a room's tips runs inside
``writing(room_id)`` and says, from inside its transaction, what it did
(``ExtremityWrite.removed``/``added``, or ``replaced``); once it has
committed the change is applied to the remembered set. A write whose effect
is unknown (it failed, or said nothing) makes the room be read again.

Correct with concurrent readers and writers of one room: a read that ran
while a write was in flight, or that began before one ended, is returned but
not remembered (a version per room), and applying a write's change is
idempotent. This holds only where this process is the one writer of the
room's events: ``written_here`` says which rooms those are (every room in a
single process; with several processes, the rooms this one persists), and a
room written by another process is read from the database every time
(docs/architecture.md, "The room DAG").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from homeserver.storage.database import Database
from homeserver.util.caches import LruCache

# Rooms whose tips are remembered (a few ids each).
ROOMS_REMEMBERED = 10_000


class _RoomTips:
    """One room's remembered tips (None: not known) and its bookkeeping."""

    __slots__ = ("ids", "version", "writes")

    def __init__(self) -> None:
        self.ids: frozenset[str] | None = None
        self.version = 0  # bumped when a write begins and when it ends
        self.writes = 0  # writes in flight


class ExtremityWrite:
    """What one persist did to its room's tips, set inside its transaction
    (a retried transaction sets it again): ``replaced`` (every tip dropped:
    the room's first event, or a join that makes its event the only tip),
    then ``removed`` dropped and ``added`` added. ``known`` False (the
    default): the change is unknown and the room is read again."""

    __slots__ = ("known", "replaced", "removed", "added")

    def __init__(self) -> None:
        self.known = False
        self.replaced = False
        self.removed: frozenset[str] = frozenset()
        self.added: frozenset[str] = frozenset()

    def note(
        self,
        *,
        removed: frozenset[str] = frozenset(),
        added: str | None = None,
        replaced: bool = False,
    ) -> None:
        """Record the change the persisting transaction made."""
        self.known, self.replaced = True, replaced
        self.removed = removed
        self.added = frozenset() if added is None else frozenset({added})

    def note_all(self, writes: Sequence[ExtremityWrite]) -> None:
        """Record the changes of several persists of the room, in order, in
        one transaction (a batch of events, ``EventPersister.persist_batch``)."""
        if not all(write.known for write in writes):
            self.known = False
            return
        self.known, self.replaced = True, False
        removed: set[str] = set()
        added: set[str] = set()
        for write in writes:
            if write.replaced:
                self.replaced = True
                removed.clear()
                added.clear()
            removed |= write.removed
            added = (added - write.removed) | write.added
        self.removed, self.added = frozenset(removed), frozenset(added)

    def apply(self, ids: frozenset[str]) -> frozenset[str]:
        """The tips after this change, given the tips before it."""
        kept = frozenset() if self.replaced else ids - self.removed
        return kept | self.added


class ForwardExtremities:
    """Reads rooms' forward extremities, remembering them (see module doc)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._rooms: LruCache[str, _RoomTips] = LruCache(
            "forward_extremities", ROOMS_REMEMBERED
        )
        # Whether this process writes the room's events (so hears every
        # change of its tips); set by a deployment of several processes.
        self.written_here: Callable[[str], bool] = _every_room

    def _entry(self, room_id: str) -> _RoomTips:
        tips = self._rooms.get(room_id)
        if tips is None:
            tips = _RoomTips()
            self._rooms.set(room_id, tips)
        return tips

    async def get(self, room_id: str) -> list[str]:
        """The room's forward extremities."""
        if not self.written_here(room_id):
            return list(await self._read(room_id))
        tips = self._entry(room_id)
        if tips.ids is not None:
            return list(tips.ids)
        version = tips.version
        ids = await self._read(room_id)
        if tips.version == version and tips.writes == 0:
            tips.ids = ids
        return list(ids)

    async def _read(self, room_id: str) -> frozenset[str]:
        rows = await self.db.run_read(
            "get_forward_extremities",
            lambda txn: txn.query(
                "SELECT event_id FROM event_forward_extremities WHERE room_id = ?",
                (room_id,),
            ),
        )
        return frozenset(str(r.event_id) for r in rows)

    @contextmanager
    def writing(self, room_id: str) -> Iterator[ExtremityWrite]:
        """Around a persist that may change the room's tips: the write says
        what it did; on leaving (after the commit, or on a failure) the
        remembered tips follow it."""
        tips = self._entry(room_id)
        tips.writes += 1
        tips.version += 1
        write = ExtremityWrite()
        try:
            yield write
        except BaseException:
            write.known = False
            raise
        finally:
            tips.writes -= 1
            tips.version += 1
            if self._rooms.get(room_id) is not tips:
                # Forgotten or evicted meanwhile: a newer entry may have been
                # read before this write committed.
                self._rooms.invalidate(room_id)
            elif not write.known:
                tips.ids = None
            elif write.replaced:
                # Known whatever came before, unless another write of the
                # room is in flight (a replacement does not commute with it).
                tips.ids = write.apply(frozenset()) if tips.writes == 0 else None
            elif tips.ids is not None:
                tips.ids = write.apply(tips.ids)

    def forget(self, room_id: str) -> None:
        """Read the room's tips again next time (its events were purged)."""
        self._rooms.invalidate(room_id)


def _every_room(room_id: str) -> bool:
    """One process writes every room's events."""
    return True
