"""Migration 13 indexes what a server stored before search existed:
messages, names and topics, but not redacted or encrypted events."""

from __future__ import annotations

from homeserver.storage.database import Transaction
from homeserver.storage.engines import split_statements
from homeserver.storage.migrations import load_migrations
from tests.reading.helpers import say
from tests.search.helpers import indexed, result_bodies, search
from tests.support.server import TestServer


def _reapply_search_migration(server: TestServer) -> None:
    engine = server.db.engine.name
    (migration,) = [m for m in load_migrations(engine) if m.version == 13]

    def txn_fn(txn: Transaction) -> None:
        txn.execute("DROP TABLE event_search")
        if engine == "sqlite":
            txn.execute("DROP TABLE event_search_fts")
        for statement in split_statements(migration.sql):
            txn.cursor.execute(statement)

    server.get_success(server.db.run_interaction("reapply", txn_fn))


def test_migration_indexes_existing_events(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(name="Orchard", topic="apples and pears")
    kept = say(alice, room_id, "apple pie recipe")
    gone = say(alice, room_id, "apple secret")
    alice.put(f"/rooms/{room_id}/redact/{gone}/r1", {}, expect=200)
    encrypted = alice.send_event(
        room_id, {"algorithm": "x", "body": "apple"}, "m.room.encrypted", expect=200
    ).json["event_id"]

    _reapply_search_migration(server)

    assert indexed(server, kept)
    assert not indexed(server, gone) and not indexed(server, encrypted)
    assert result_bodies(search(alice, "apple", keys=["content.body"])) == [
        "apple pie recipe"
    ]
    types = [
        r["result"]["type"]
        for r in search(alice, "orchard or pears").json["search_categories"][
            "room_events"
        ]["results"]
    ]
    assert sorted(types) == ["m.room.name", "m.room.topic"]
    # New events keep being indexed after it.
    say(alice, room_id, "apple crumble")
    assert len(result_bodies(search(alice, "apple", keys=["content.body"]))) == 2
