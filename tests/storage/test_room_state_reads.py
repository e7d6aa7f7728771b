"""The current-state reads that answer from a part of a room: joined users of
one server or of the others, a few state entries."""

from __future__ import annotations

from tests.federation.sending_helpers import remote_join
from tests.support import TestServer


def test_joined_users_by_server_and_a_few_state_entries(server: TestServer) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    # A server whose name ends like ours is not ours; a leaver is not joined.
    for user in ("@u:other.test", "@v:xtest", "@w:gone.test"):
        remote_join(server, room_id, user)
    server.get_success(
        server.hs.rooms.event_creation.send(
            room_id,
            "@w:gone.test",
            "m.room.member",
            {"membership": "leave"},
            "@w:gone.test",
        )
    )
    store = server.hs.core.room_state

    def joined(ours: bool, limit: int = 0) -> set[str]:
        return server.get_success(
            store.get_joined_users_of(room_id, "test", ours=ours, limit=limit)
        )

    assert joined(ours=True) == {alice.user_id, bob.user_id}
    assert joined(ours=False) == {"@u:other.test", "@v:xtest"}
    assert len(joined(ours=True, limit=1)) == 1
    assert server.get_success(store.has_joined_user_of(room_id, "other.test"))
    assert not server.get_success(store.has_joined_user_of(room_id, "gone.test"))

    keys = [("m.room.create", ""), ("m.room.member", bob.user_id), ("m.room.topic", "")]
    entries = server.get_success(store.get_current_state_ids_of(room_id, keys))
    full = server.get_success(store.get_current_state_ids(room_id))
    assert entries == {key: full[key] for key in keys[:2]}
    assert server.get_success(store.get_current_state_ids_of(room_id, [])) == {}


def test_a_remote_user_like_ours_but_for_case_hides_no_local_member(
    server: TestServer,
) -> None:
    """SQLite's LIKE ignores case: ``@a:TEST`` matches ``%:test`` there, is
    not ours, and must not stand in for the local members a limited read
    looks for."""
    alice = server.user("alice")
    room_id = alice.create_room(preset="public_chat")
    remote_join(server, room_id, "@a:TEST")
    store = server.hs.core.room_state
    assert server.get_success(store.has_joined_user_of(room_id, "test"))
    assert server.get_success(
        store.get_joined_users_of(room_id, "test", ours=True, limit=1)
    ) == {alice.user_id}
