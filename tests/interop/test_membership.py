"""Invites, rejections, leaves, kicks and bans across the two servers."""

from __future__ import annotations

import pytest

from tests.interop.chatly import Chatly
from tests.interop.client import Client, HttpError
from tests.interop.rooms import bodies, messages, room_joined_across
from tests.interop.synapse import Synapse


def _invited_to(client: Client, room_id: str) -> object:
    return client.sync_until(
        lambda seen: seen.invites.get(room_id), f"an invite to {room_id}"
    )


def test_we_invite_a_synapse_user_who_joins(alice: Client, bob: Client) -> None:
    room_id = alice.create_room(preset="private_chat", name="Invite only, here")
    alice.membership_action("invite", room_id, bob.user_id)
    invite_state = _invited_to(bob, room_id)
    assert isinstance(invite_state, list)
    # The stripped state tells the invitee what the room is.
    assert {"type": "m.room.name", "content": {"name": "Invite only, here"}} in [
        {"type": e["type"], "content": e["content"]} for e in invite_state
    ]
    alice.wait_for_membership(room_id, bob.user_id, "invite")
    # An invite-only room: joining works because of the invite.
    assert bob.join(room_id) == room_id
    alice.wait_for_membership(room_id, bob.user_id, "join")
    bob.wait_for_membership(room_id, bob.user_id, "join")


def test_synapse_invites_our_user_who_joins(alice: Client, bob: Client) -> None:
    room_id = bob.create_room(preset="private_chat", name="Invite only, there")
    bob.membership_action("invite", room_id, alice.user_id)
    invite_state = _invited_to(alice, room_id)
    assert isinstance(invite_state, list)
    assert any(e["type"] == "m.room.name" for e in invite_state)
    # No via: the server of the inviting user is where to join through.
    assert alice.join(room_id) == room_id
    bob.wait_for_membership(room_id, alice.user_id, "join")
    message = bob.send(room_id, "welcome")
    alice.wait_for_event_id(room_id, message)


def test_our_user_rejects_a_synapse_invite(alice: Client, bob: Client) -> None:
    room_id = bob.create_room(preset="private_chat")
    bob.membership_action("invite", room_id, alice.user_id)
    _invited_to(alice, room_id)
    alice.leave(room_id)
    bob.wait_for_membership(room_id, alice.user_id, "leave")
    alice.sync_until(lambda seen: room_id not in seen.invites, "the invite gone")


def test_synapse_user_rejects_our_invite(alice: Client, bob: Client) -> None:
    room_id = alice.create_room(preset="private_chat")
    alice.membership_action("invite", room_id, bob.user_id)
    _invited_to(bob, room_id)
    bob.leave(room_id)
    alice.wait_for_membership(room_id, bob.user_id, "leave")


def test_leaves_cross(
    synapse: Synapse, chatly: Chatly, alice: Client, bob: Client
) -> None:
    theirs = room_joined_across(bob, synapse.server_name, alice)
    alice.leave(theirs)
    bob.wait_for_membership(theirs, alice.user_id, "leave")
    alice.sync_until(lambda seen: theirs in seen.left, "the room under leave")

    ours = room_joined_across(alice, chatly.server_name, bob)
    bob.leave(ours)
    alice.wait_for_membership(ours, bob.user_id, "leave")
    # A message after the leave does not reach the user who left.
    after = alice.send(ours, "after bob left")
    with pytest.raises(HttpError):
        bob.call("GET", f"/rooms/{ours}/event/{after}")


def test_synapse_kicks_our_user(synapse: Synapse, alice: Client, bob: Client) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    bob.membership_action("kick", room_id, alice.user_id)
    kick = alice.wait_for_membership(room_id, alice.user_id, "leave")
    assert kick["sender"] == bob.user_id
    assert kick["content"].get("reason") == "interop kick"
    alice.sync_until(lambda seen: room_id in seen.left, "the room under leave")
    # Kicked, not banned: alice may come back.
    assert alice.join(room_id, via=[synapse.server_name]) == room_id
    bob.wait_for_membership(room_id, alice.user_id, "join")


def test_we_kick_a_synapse_user(chatly: Chatly, alice: Client, bob: Client) -> None:
    room_id = room_joined_across(alice, chatly.server_name, bob)
    alice.membership_action("kick", room_id, bob.user_id)
    kick = bob.wait_for_membership(room_id, bob.user_id, "leave")
    assert kick["sender"] == alice.user_id
    bob.sync_until(lambda seen: room_id in seen.left, "the room under leave")


def test_synapse_bans_our_user(synapse: Synapse, alice: Client, bob: Client) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    bob.membership_action("ban", room_id, alice.user_id)
    ban = alice.wait_for_membership(room_id, alice.user_id, "ban")
    assert ban["sender"] == bob.user_id
    with pytest.raises(HttpError) as info:
        alice.join(room_id, via=[synapse.server_name])
    assert info.value.status == 403


def test_we_ban_a_synapse_user(chatly: Chatly, alice: Client, bob: Client) -> None:
    room_id = room_joined_across(alice, chatly.server_name, bob)
    alice.membership_action("ban", room_id, bob.user_id)
    ban = bob.wait_for_membership(room_id, bob.user_id, "ban")
    assert ban["sender"] == alice.user_id
    with pytest.raises(HttpError) as info:
        bob.join(room_id, via=[chatly.server_name])
    assert info.value.status == 403


def test_our_user_leaves_and_is_invited_back(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    """After our only member left, our server is out of the room; a new invite
    and join bring it back up to date."""
    room_id = room_joined_across(bob, synapse.server_name, alice)
    alice.leave(room_id)
    bob.wait_for_membership(room_id, alice.user_id, "leave")
    bob.send(room_id, "while alice was away")
    bob.set_state(room_id, "m.room.topic", {"topic": "changed while away"})
    bob.membership_action("invite", room_id, alice.user_id)
    alice.sync_until(lambda seen: room_id in seen.invites, "the new invite")
    assert alice.join(room_id) == room_id
    bob.wait_for_membership(room_id, alice.user_id, "join")
    assert alice.get_state(room_id, "m.room.topic") == {"topic": "changed while away"}
    later = bob.send(room_id, "welcome back")
    alice.wait_for_event_id(room_id, later)
    # History is shared with members, so what she missed is readable now.
    assert "while alice was away" in bodies(messages(alice, room_id))
