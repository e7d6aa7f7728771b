"""Ignoring a Synapse user (spec: client-server API, "Ignoring Users"): our
user's /sync and /messages leave out the ignored remote user's messages, but
not their state events; their invites and to-device messages, which arrive
over federation, are not sent to our user either."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.interop.client import Client, quote
from tests.interop.rooms import bodies, is_message, messages, room_joined_across
from tests.interop.synapse import Synapse


def _ignore(client: Client, *user_ids: str) -> None:
    path = f"/user/{quote(client.user_id)}/account_data/m.ignored_user_list"
    client.call("PUT", path, {"ignored_users": {u: {} for u in user_ids}})


def _to_device(sender: Client, user_id: str, marker: str) -> None:
    path = f"/sendToDevice/m.interop.ping/{time.monotonic_ns()}"
    sender.call("PUT", path, {"messages": {user_id: {"*": {"marker": marker}}}})


def test_an_ignored_synapse_users_events_are_hidden(
    synapse: Synapse,
    alice: Client,
    bob: Client,
    synapse_user: Callable[[str], Client],
) -> None:
    carol = synapse_user("carol")
    room_id = room_joined_across(bob, synapse.server_name, alice)
    carol.join(room_id)
    alice.wait_for_membership(room_id, carol.user_id, "join")
    bob.send(room_id, "before ignoring")
    alice.wait_for_event(room_id, is_message("before ignoring"), "bob's message")
    _ignore(alice, bob.user_id)

    bob.send(room_id, "while ignored")
    topic = bob.set_state(room_id, "m.room.topic", {"topic": "set by bob"})
    bob_invite = bob.create_room()
    bob.membership_action("invite", bob_invite, alice.user_id)
    _to_device(bob, alice.user_id, "from bob")
    # carol's come after bob's, so once alice has them, bob's have arrived.
    carol_invite = carol.create_room()
    carol.membership_action("invite", carol_invite, alice.user_id)
    _to_device(carol, alice.user_id, "from carol")
    carol.send(room_id, "from carol")
    alice.wait_for_event(room_id, is_message("from carol"), "carol's message")
    alice.sync_until(lambda seen: carol_invite in seen.invites, "carol's invite")
    alice.sync_until(
        lambda seen: any(e["sender"] == carol.user_id for e in seen.to_device),
        "carol's to-device message",
    )

    seen = bodies(alice.seen.events(room_id))
    assert "before ignoring" in seen and "while ignored" not in seen
    # bob's state event still reaches alice.
    assert alice.wait_for_event_id(room_id, topic)["sender"] == bob.user_id
    history = bodies(messages(alice, room_id))
    assert "while ignored" not in history and "from carol" in history
    assert bob_invite not in alice.seen.invites
    assert all(e["sender"] != bob.user_id for e in alice.seen.to_device)
    # A fresh sync (as the spec advises after a change) agrees.
    fresh = alice.call("GET", "/sync?timeout=0", timeout=60)
    timeline = fresh["rooms"]["join"][room_id]["timeline"]["events"]
    assert all(e["sender"] != bob.user_id or "state_key" in e for e in timeline)
    assert bob_invite not in fresh["rooms"]["invite"]
    # Synapse's own user is not affected: carol sees bob's message.
    carol.wait_for_event(room_id, is_message("while ignored"), "bob's message")
