"""Restricted rooms across the two servers: the resident server vouches for a
joining user who is in an allowed room (join_authorised_via_users_server)."""

from __future__ import annotations

from typing import Any

from tests.interop.chatly import Chatly
from tests.interop.client import Client, HttpError
from tests.interop.synapse import Synapse


def _restricted_room(admin: Client, allowed_room: str) -> str:
    return admin.create_room(
        preset="private_chat",
        room_version="10",
        initial_state=[
            {
                "type": "m.room.join_rules",
                "state_key": "",
                "content": {
                    "join_rule": "restricted",
                    "allow": [{"type": "m.room_membership", "room_id": allowed_room}],
                },
            }
        ],
    )


def _check(admin: Client, joiner: Client, server_name: str) -> None:
    space = admin.create_room(preset="public_chat")
    inner = _restricted_room(admin, space)
    # Not in the allowed room yet: refused.
    try:
        joiner.join(inner, via=[server_name])
    except HttpError as exc:
        assert exc.status == 403
    else:
        raise AssertionError("a join without membership of the space worked")
    assert joiner.join(space, via=[server_name]) == space
    admin.wait_for_membership(space, joiner.user_id, "join")
    assert joiner.join(inner, via=[server_name]) == inner
    join: Any = admin.wait_for_membership(inner, joiner.user_id, "join")
    assert join["content"].get("join_authorised_via_users_server") == admin.user_id
    joiner.wait_for_membership(inner, joiner.user_id, "join")


def test_our_user_joins_a_restricted_synapse_room(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    _check(bob, alice, synapse.server_name)


def test_synapse_user_joins_our_restricted_room(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    _check(alice, bob, chatly.server_name)
