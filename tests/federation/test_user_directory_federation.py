"""The user directory learns other servers' users from member events: the
room state a join handshake brings, later joins that arrive over federation,
and their profile changes (Chatly with Chatly)."""

from __future__ import annotations

from typing import Any

from homeserver.storage.engines import split_statements
from homeserver.storage.migrations import load_migrations
from tests.federation.pair import FederationPair
from tests.support import TestServer, User


def _found(user: User, term: str) -> list[dict[str, Any]]:
    body = user.post("/user_directory/search", {"search_term": term}, expect=200).json
    return list(body["results"])


def _rerun_backfill(server: TestServer) -> None:
    """Empty the directory's tables and run migration 0014's backfill again,
    as on a server upgraded with rooms already in its database."""
    engine = server.db.engine.name
    (migration,) = [m for m in load_migrations(engine) if m.version == 14]
    inserts = [s for s in split_statements(migration.sql) if s.startswith("INSERT")]

    def txn_fn(txn: Any) -> None:
        txn.execute("DELETE FROM user_directory_remote")
        txn.execute("DELETE FROM user_directory_public_rooms")
        for statement in inserts:
            txn.cursor.execute(statement)

    server.get_success(server.db.run_interaction("rerun_backfill", txn_fn))


def test_remote_users_are_found_and_follow_their_profiles(
    pair: FederationPair,
) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    carol = b.user("carol")
    room_id = bob.create_room(preset="private_chat", invite=[alice.user_id])
    pair.pump(1)
    assert alice.join_via(room_id, "b.test").code == 200
    pair.pump(1)
    # bob came with the room's state in the join handshake.
    assert _found(alice, "bob") == [
        {"user_id": bob.user_id, "display_name": "bob", "avatar_url": None}
    ]
    assert _found(alice, "carol") == []
    # carol's join arrives over federation.
    bob.invite(room_id, carol.user_id)
    carol.join(room_id)
    pair.pump(1)
    assert [r["user_id"] for r in _found(alice, "carol")] == [carol.user_id]
    # bob's new name arrives as a join -> join member event.
    bob.put(f"/profile/{bob.user_id}/displayname", {"displayname": "Roberto"})
    pair.pump(1)
    assert _found(alice, "rober") == [
        {"user_id": bob.user_id, "display_name": "Roberto", "avatar_url": None}
    ]
    # An upgraded server fills the tables from the rooms it already has.
    _rerun_backfill(a)
    assert [r["user_id"] for r in _found(alice, "rober")] == [bob.user_id]
    assert [r["user_id"] for r in _found(alice, "carol")] == [carol.user_id]
    # carol leaves: no longer sharing a room with alice.
    carol.leave(room_id)
    pair.pump(1)
    assert _found(alice, "carol") == []


def test_public_remote_room_members_are_found_by_outsiders(
    pair: FederationPair,
) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    dave = a.user("dave")  # in no room
    bob = b.user("bob")
    room_id = bob.create_room(preset="public_chat")
    assert alice.join_via(room_id, "b.test").code == 200
    pair.pump(1)
    assert [r["user_id"] for r in _found(dave, "bob")] == [bob.user_id]
    _rerun_backfill(a)
    assert [r["user_id"] for r in _found(dave, "bob")] == [bob.user_id]
