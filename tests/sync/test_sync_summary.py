"""The room ``summary`` of /sync: heroes only for rooms without a name.

Spec: client-server API, GET /sync, RoomSummary: ``m.heroes`` is required
when the room has no ``m.room.name`` or ``m.room.canonical_alias``; Synapse
leaves it out when the room has either.
"""

from __future__ import annotations

from tests.support.server import TestServer


def _summary(user, room_id: str, since: str | None = None) -> dict:
    return user.sync(since)["rooms"]["join"][room_id]["summary"]


def test_heroes_only_for_rooms_without_a_name(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    unnamed = alice.create_room(invite=[bob.user_id])
    named = alice.create_room(name="Lounge", invite=[bob.user_id])
    bob.join(unnamed)
    bob.join(named)
    assert _summary(alice, unnamed) == {
        "m.heroes": [bob.user_id],
        "m.joined_member_count": 2,
        "m.invited_member_count": 0,
    }
    assert _summary(alice, named) == {
        "m.joined_member_count": 2,
        "m.invited_member_count": 0,
    }


def test_canonical_alias_counts_as_a_name_and_an_empty_name_does_not(
    server: TestServer,
) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    aliased = alice.create_room(room_alias_name="hall", invite=[bob.user_id])
    bob.join(aliased)
    assert "m.heroes" not in _summary(alice, aliased)
    emptied = alice.create_room(name="Temp", invite=[bob.user_id])
    bob.join(emptied)
    alice.put_state(emptied, "m.room.name", {"name": ""})
    assert _summary(alice, emptied)["m.heroes"] == [bob.user_id]
