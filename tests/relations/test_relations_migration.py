"""Migration 12 indexes the relations of events stored before it existed:
not redacted or rejected ones; threads get their newest reply."""

from __future__ import annotations

from homeserver.storage.database import Transaction
from homeserver.storage.engines import split_statements
from homeserver.storage.migrations import load_migrations
from tests.relations.helpers import (
    bundled,
    edit,
    react,
    relations,
    reply_in_thread,
    threads,
)
from tests.support.server import TestServer


def _reapply_relations_migration(server: TestServer) -> None:
    engine = server.db.engine.name
    (migration,) = [m for m in load_migrations(engine) if m.version == 12]

    def txn_fn(txn: Transaction) -> None:
        txn.execute("DROP TABLE event_relations")
        txn.execute("DROP TABLE threads")
        for statement in split_statements(migration.sql):
            txn.cursor.execute(statement)

    server.get_success(server.db.run_interaction("reapply", txn_fn))


def test_migration_indexes_existing_relations(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    root = alice.send(room_id, "root")
    reaction = react(bob, room_id, root, "👍", expect=200).json["event_id"]
    gone = react(bob, room_id, root, "👎", expect=200).json["event_id"]
    bob.put(f"/rooms/{room_id}/redact/{gone}/r1", {}, expect=200)
    reply_in_thread(bob, room_id, root, "one")
    last = reply_in_thread(alice, room_id, root, "two")
    server.advance(1)
    fix = edit(alice, room_id, root, "root!", expect=200).json["event_id"]
    bob.send(room_id, "not a relation", **{"m.relates_to": "nonsense"})

    _reapply_relations_migration(server)

    listed = relations(alice, room_id, root, "m.annotation").json["chunk"]
    assert [e["event_id"] for e in listed] == [reaction]
    rels = bundled(alice.event(room_id, root).json)
    assert rels["m.thread"]["count"] == 2
    assert rels["m.thread"]["latest_event"]["event_id"] == last
    assert rels["m.replace"]["event_id"] == fix
    assert [e["event_id"] for e in threads(alice, room_id).json["chunk"]] == [root]
    # The duplicate check sees the migrated rows; new relations keep coming.
    assert react(bob, room_id, root, "👍").json["errcode"] == "M_DUPLICATE_ANNOTATION"
    react(bob, room_id, root, "👎", expect=200)
