"""Rooms' forward extremities remembered in memory
(storage/stores/forward_extremities.py): always what the table holds, after
sends, forks, merges, failed writes, purges, and a read that raced a write."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY
from twisted.internet import defer

from homeserver.storage.database import Database
from homeserver.storage.stores.forward_extremities import ForwardExtremities
from homeserver.storage.stores.room_purge import RoomPurgeStore
from tests.rooms.test_dag_storage import extremities as _tips
from tests.rooms.test_dag_storage import fork_event
from tests.storage.test_database import run
from tests.support.server import TestServer


def _table(server: TestServer, room_id: str) -> set[str]:
    rows = server.get_success(
        server.db.run_read(
            "tips",
            lambda txn: txn.query(
                "SELECT event_id FROM event_forward_extremities WHERE room_id = ?",
                (room_id,),
            ),
        )
    )
    return {r.event_id for r in rows}


def _reads() -> float:
    """How often any room's tips were read from the database so far."""
    value = REGISTRY.get_sample_value(
        "homeserver_db_txn_seconds_count", {"name": "get_forward_extremities"}
    )
    return value or 0.0


def test_tips_follow_sends_forks_and_merges(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    first = alice.send(room_id, "one")
    assert _tips(server, room_id) == _table(server, room_id) == {first}
    reads = _reads()
    second = alice.send(room_id, "two")
    assert _tips(server, room_id) == _table(server, room_id) == {second}
    # A fork, as another server's event on an older parent would make it.
    other = fork_event(server, room_id, first, "@alice:test", "m.room.message", {})
    assert _tips(server, room_id) == _table(server, room_id) == {second, other.event_id}
    # The next local event merges both tips.
    merged = alice.send(room_id, "three")
    assert _tips(server, room_id) == _table(server, room_id) == {merged}
    assert _reads() == reads  # every answer came from memory


def test_failed_write_makes_the_room_read_again(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    alice.send(room_id, "one")
    hs = server.hs
    event = server.get_success(hs.core.events.get_event(_tips(server, room_id).pop()))
    assert event is not None
    reads = _reads()
    context = server.get_success(
        hs.rooms.state_resolver.context_for_prev_events(
            event.room_version, event.prev_event_ids
        )
    )
    # Persisting a stored event again breaks the events table's key.
    with pytest.raises(server.db.IntegrityError):
        server.get_success(hs.core.persister.persist_event(event, context))
    assert _tips(server, room_id) == _table(server, room_id) == {event.event_id}
    assert _reads() == reads + 1


def test_purged_room_is_read_again(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    alice.send(room_id, "one")
    assert _tips(server, room_id)
    core = server.hs.core
    purges = RoomPurgeStore(core.db, core.events, core.room_state)
    server.get_success(purges.purge_room(room_id))
    assert _tips(server, room_id) == _table(server, room_id) == set()


def test_read_racing_a_write_is_not_remembered(server: TestServer) -> None:
    """A read that began before a write ended answers the caller but is not
    kept: the next read goes to the database again."""
    alice = server.user("alice")
    room_id = alice.create_room()
    tip = alice.send(room_id, "one")
    pending: list[tuple[defer.Deferred[Any], Any]] = []

    def held(fn: Any) -> defer.Deferred[Any]:
        d: defer.Deferred[Any] = defer.Deferred()
        pending.append((d, fn))
        return d

    fx = ForwardExtremities(Database(server.db.engine, held))
    fx.db.connections = server.db.connections  # the same database
    reading = defer.ensureDeferred(fx.get(room_id))
    with fx.writing(room_id) as write:  # a send that ends meanwhile
        write.note(removed=frozenset({tip}), added="$new")
    d, fn = pending.pop()
    d.callback(fn())  # the read answers what the table held when it ran
    assert run(reading) == [tip]
    again = defer.ensureDeferred(fx.get(room_id))
    assert pending, "the raced read was remembered"
    d, fn = pending.pop()
    d.callback(fn())
    assert run(again) == [tip]
    # Now nothing raced it: remembered, and a write's change is applied.
    with fx.writing(room_id) as write:
        write.note(removed=frozenset({tip}), added="$new")
    assert run(fx.get(room_id)) == ["$new"]
    assert not pending
    # A write that fails (its change unknown) makes the room be read again.
    with pytest.raises(RuntimeError), fx.writing(room_id):
        raise RuntimeError("boom")
    later = defer.ensureDeferred(fx.get(room_id))
    assert pending
    d, fn = pending.pop()
    d.callback(fn())
    assert run(later) == [tip]


def test_room_written_by_another_process_is_always_read(server: TestServer) -> None:
    """With several processes, the tips of a room another process writes
    can change without this one hearing of it: they are never remembered."""
    alice = server.user("alice")
    room_id = alice.create_room()
    alice.send(room_id, "one")
    fx = server.hs.core.events.extremities
    fx.written_here = lambda room: room != room_id
    reads = _reads()
    for _ in range(2):
        assert _tips(server, room_id) == _table(server, room_id)
    assert _reads() == reads + 2  # each _tips read the table
