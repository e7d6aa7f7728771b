"""What we serve to a real Synapse: state and history reads need a joined
user of the asking server now, and no state is served at a rejected event.

The requests are signed with Synapse's own key (as its server would send
them); the users and the room are real, on both servers.
"""

from __future__ import annotations

import pytest

from tests.interop.chatly import Chatly
from tests.interop.client import Client, HttpError, quote
from tests.interop.forge import Forger
from tests.interop.rooms import room_joined_across
from tests.interop.synapse import Synapse


def _state_ids(forger: Forger, room_id: str, event_id: str) -> object:
    return forger.federation(
        "GET",
        f"/_matrix/federation/v1/state_ids/{quote(room_id)}?event_id={quote(event_id)}",
    )


def _backfill(forger: Forger, room_id: str, event_id: str) -> object:
    return forger.federation(
        "GET",
        f"/_matrix/federation/v1/backfill/{quote(room_id)}?v={quote(event_id)}&limit=5",
    )


def test_a_banned_synapse_user_s_server_reads_no_more(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(
        alice,
        chatly.server_name,
        bob,
        initial_state=[
            {
                "type": "m.room.history_visibility",
                "state_key": "",
                "content": {"history_visibility": "world_readable"},
            }
        ],
    )
    message = alice.send(room_id, "before the ban")
    forger = Forger(chatly, synapse, alice, room_id)
    assert _state_ids(forger, room_id, message)
    assert _backfill(forger, room_id, message)

    alice.membership_action("ban", room_id, bob.user_id)
    bob.wait_for_membership(room_id, bob.user_id, "ban")
    for read in (_state_ids, _backfill):
        with pytest.raises(HttpError) as info:
            read(forger, room_id, message)
        assert (info.value.status, info.value.errcode) == (403, "M_FORBIDDEN")


def test_no_state_at_a_rejected_event(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(alice, chatly.server_name, bob)
    forger = Forger(chatly, synapse, alice, room_id)
    grab = forger.event(
        bob.user_id,
        "m.room.power_levels",
        {"users": {bob.user_id: 100}},
        synapse.server_name,
        forger.key,
        state_key="",
    )
    grab_id = forger.event_id(grab)
    forger.send([grab])
    with pytest.raises(HttpError) as info:
        _state_ids(forger, room_id, grab_id)
    assert (info.value.status, info.value.errcode) == (404, "M_NOT_FOUND")
    later = alice.send(room_id, "after the grab")
    assert _state_ids(forger, room_id, later)
