"""Restricted rooms across servers: membership of another room lets a remote
user in, with the join authorised (and signed) by the room's server."""

from __future__ import annotations

from tests.interop.chatly import Chatly
from tests.interop.client import Client, HttpError
from tests.interop.rooms import room_joined_across
from tests.interop.synapse import Synapse


def _restricted_room(admin: Client, allowed_room: str) -> str:
    return admin.create_room(
        preset="private_chat",
        room_version="10",
        initial_state=[
            {
                "type": "m.room.join_rules",
                "content": {
                    "join_rule": "restricted",
                    "allow": [{"type": "m.room_membership", "room_id": allowed_room}],
                },
            }
        ],
    )


def _join_restricted(admin: Client, joiner: Client, server: str) -> None:
    allowed = room_joined_across(admin, server, joiner, room_version="10")
    restricted = _restricted_room(admin, allowed)
    assert joiner.join(restricted, via=[server]) == restricted
    join = admin.wait_for_membership(restricted, joiner.user_id, "join")
    assert join["content"]["join_authorised_via_users_server"] == admin.user_id

    # Without membership of the allowed room, the same join is refused.
    outsider_room = _restricted_room(admin, admin.create_room(preset="private_chat"))
    try:
        joiner.join(outsider_room, via=[server])
    except HttpError as exc:
        assert exc.status == 403, exc
    else:
        raise AssertionError("joined a restricted room without being allowed")


def test_our_user_joins_a_restricted_synapse_room(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    _join_restricted(bob, alice, synapse.server_name)


def test_synapse_user_joins_our_restricted_room(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    _join_restricted(alice, bob, chatly.server_name)
