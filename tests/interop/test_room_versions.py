"""Rooms of other versions than each server's default, joined across: event IDs,
auth rules and redaction algorithms must agree between the implementations."""

from __future__ import annotations

import pytest

from tests.interop.chatly import Chatly
from tests.interop.client import Client, quote
from tests.interop.rooms import room_joined_across
from tests.interop.synapse import Synapse


def _exchange(creator: Client, joiner: Client, room_id: str) -> None:
    hello = joiner.send(room_id, "hello")
    creator.wait_for_event_id(room_id, hello)
    reply = creator.send(room_id, "hi")
    joiner.wait_for_event_id(room_id, reply)
    redaction = creator.redact(room_id, reply)
    joiner.wait_for_event_id(room_id, redaction)
    pruned = joiner.call("GET", f"/rooms/{quote(room_id)}/event/{quote(reply)}")
    assert pruned["content"] == {}


@pytest.mark.parametrize("version", ["9", "10", "11"])
def test_our_user_joins_a_synapse_room_of_version(
    version: str, synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice, room_version=version)
    create = alice.get_state(room_id, "m.room.create")
    assert create.get("room_version") == version
    _exchange(bob, alice, room_id)


@pytest.mark.parametrize("version", ["9", "11", "12"])
def test_synapse_user_joins_our_room_of_version(
    version: str, chatly: Chatly, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(alice, chatly.server_name, bob, room_version=version)
    assert bob.get_state(room_id, "m.room.create").get("room_version") == version
    _exchange(alice, bob, room_id)
