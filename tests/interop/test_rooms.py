"""Joins both ways, and messages and state changes crossing between the servers."""

from __future__ import annotations

from tests.interop.chatly import Chatly
from tests.interop.client import Client
from tests.interop.rooms import (
    bodies,
    is_message,
    messages,
    raise_power,
    room_joined_across,
)
from tests.interop.synapse import Synapse


def _messages_both_ways(ours: Client, theirs: Client, room_id: str) -> None:
    from_theirs = theirs.send(room_id, "hello from Synapse")
    seen = ours.wait_for_event_id(room_id, from_theirs)
    assert seen["sender"] == theirs.user_id
    assert seen["content"]["body"] == "hello from Synapse"

    from_ours = ours.send(room_id, "hello from Chatly")
    seen = theirs.wait_for_event_id(room_id, from_ours)
    assert seen["sender"] == ours.user_id
    assert seen["content"]["body"] == "hello from Chatly"
    # Each side also sees its own message in its own /sync.
    theirs.wait_for_event_id(room_id, from_theirs)
    ours.wait_for_event_id(room_id, from_ours)


def test_our_user_joins_a_room_created_on_synapse(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice, name="On Synapse")
    # The room's history before the join reached us with the join.
    create = alice.wait_for_event(
        room_id, lambda e: e["type"] == "m.room.create", "the create event"
    )
    assert create["sender"] == bob.user_id
    assert alice.get_state(room_id, "m.room.name") == {"name": "On Synapse"}
    _messages_both_ways(alice, bob, room_id)


def test_synapse_user_joins_a_room_created_here(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(alice, chatly.server_name, bob, name="On Chatly")
    assert bob.get_state(room_id, "m.room.name") == {"name": "On Chatly"}
    create = bob.wait_for_event(
        room_id, lambda e: e["type"] == "m.room.create", "the create event"
    )
    assert create["sender"] == alice.user_id
    _messages_both_ways(alice, bob, room_id)


def test_our_user_joins_by_alias_through_federation(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    localpart = f"interop{bob.user_id[1:].split(':')[0]}"
    room_id = bob.create_room(preset="public_chat", room_alias_name=localpart)
    alias = f"#{localpart}:{synapse.server_name}"
    assert alice.join(alias) == room_id
    bob.wait_for_membership(room_id, alice.user_id, "join")


def test_synapse_user_joins_by_alias_through_federation(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    localpart = f"interop{alice.user_id[1:].split(':')[0]}"
    room_id = alice.create_room(preset="public_chat", room_alias_name=localpart)
    alias = f"#{localpart}:{chatly.server_name}"
    assert bob.join(alias) == room_id
    alice.wait_for_membership(room_id, bob.user_id, "join")


def _state_changes_both_ways(
    owner: Client, other: Client, room_id: str, marker: str
) -> None:
    """``owner`` (room admin) and ``other`` change state; each sees the other's."""
    raise_power(owner, room_id, other.user_id, 100)
    other.wait_for_event(
        room_id,
        lambda e: (
            e["type"] == "m.room.power_levels"
            and e["content"].get("users", {}).get(other.user_id) == 100
        ),
        "the power level change",
    )
    name_id = owner.set_state(room_id, "m.room.name", {"name": f"name {marker}"})
    other.wait_for_event_id(room_id, name_id)
    assert other.get_state(room_id, "m.room.name") == {"name": f"name {marker}"}

    topic_id = other.set_state(room_id, "m.room.topic", {"topic": f"topic {marker}"})
    owner.wait_for_event_id(room_id, topic_id)
    assert owner.get_state(room_id, "m.room.topic") == {"topic": f"topic {marker}"}

    # other (now at 100) lowers what sending topics needs; owner sees the new levels.
    levels = other.get_state(room_id, "m.room.power_levels")
    levels.setdefault("events", {})["m.room.topic"] = 10
    levels_id = other.set_state(room_id, "m.room.power_levels", levels)
    seen = owner.wait_for_event_id(room_id, levels_id)
    assert seen["content"]["events"]["m.room.topic"] == 10
    assert (
        owner.get_state(room_id, "m.room.power_levels")["events"]["m.room.topic"] == 10
    )


def test_state_changes_both_ways_in_a_synapse_room(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    _state_changes_both_ways(bob, alice, room_id, "from Synapse's room")


def test_state_changes_both_ways_in_our_room(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(alice, chatly.server_name, bob)
    _state_changes_both_ways(alice, bob, room_id, "from our room")


def test_many_messages_arrive_in_order(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    for i in range(20):
        bob.send(room_id, f"burst {i}")
    alice.wait_for_event(room_id, is_message("burst 19"), "the last message")
    # /sync may skip some of a burst (a limited timeline); /messages may not.
    burst = [b for b in bodies(messages(alice, room_id)) if b.startswith("burst")]
    assert burst == [f"burst {i}" for i in range(20)]
