"""Typing notifications and read receipts, both directions."""

from __future__ import annotations

from collections.abc import Callable

from tests.interop.chatly import Chatly
from tests.interop.client import Client, SyncState
from tests.interop.rooms import room_joined_across
from tests.interop.synapse import Synapse

Check = Callable[[SyncState], bool]


def _typing(room_id: str, user_id: str) -> Check:
    def check(seen: SyncState) -> bool:
        typing = [e for e in seen.ephemeral.get(room_id, []) if e["type"] == "m.typing"]
        return bool(typing) and user_id in typing[-1]["content"]["user_ids"]

    return check


def _not_typing(room_id: str, user_id: str) -> Check:
    def check(seen: SyncState) -> bool:
        typing = [e for e in seen.ephemeral.get(room_id, []) if e["type"] == "m.typing"]
        return bool(typing) and user_id not in typing[-1]["content"]["user_ids"]

    return check


def _receipt(room_id: str, event_id: str, user_id: str) -> Check:
    def check(seen: SyncState) -> bool:
        return any(
            user_id in e["content"].get(event_id, {}).get("m.read", {})
            for e in seen.ephemeral.get(room_id, [])
            if e["type"] == "m.receipt"
        )

    return check


def _typing_and_receipts(ours: Client, theirs: Client, room_id: str) -> None:
    theirs.typing(room_id, True)
    ours.sync_until(_typing(room_id, theirs.user_id), "Synapse's user typing")
    theirs.typing(room_id, False)
    ours.sync_until(_not_typing(room_id, theirs.user_id), "the typing stop")

    ours.typing(room_id, True)
    theirs.sync_until(_typing(room_id, ours.user_id), "our user typing")
    ours.typing(room_id, False)
    theirs.sync_until(_not_typing(room_id, ours.user_id), "the typing stop")

    from_theirs = theirs.send(room_id, "read me")
    ours.wait_for_event_id(room_id, from_theirs)
    ours.read_receipt(room_id, from_theirs)
    theirs.sync_until(
        _receipt(room_id, from_theirs, ours.user_id), "our user's read receipt"
    )

    from_ours = ours.send(room_id, "read me too")
    theirs.wait_for_event_id(room_id, from_ours)
    theirs.read_receipt(room_id, from_ours)
    ours.sync_until(
        _receipt(room_id, from_ours, theirs.user_id), "Synapse's read receipt"
    )


def test_typing_and_receipts_in_a_synapse_room(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    _typing_and_receipts(alice, bob, room_id)


def test_typing_and_receipts_in_our_room(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(alice, chatly.server_name, bob)
    _typing_and_receipts(alice, bob, room_id)


def test_sending_does_not_end_our_users_typing_on_synapse(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    """As Synapse: a message does not end its sender's typing (the client
    says when it stops), so Synapse's user still sees ours typing after it."""
    room_id = room_joined_across(alice, chatly.server_name, bob)
    alice.typing(room_id, True)
    bob.sync_until(_typing(room_id, alice.user_id), "our user typing")
    first = alice.send(room_id, "typed while typing")
    second = alice.send(room_id, "and another")
    # Everything we queued for Synapse before the second message is there by now.
    bob.wait_for_event_id(room_id, first)
    bob.wait_for_event_id(room_id, second)
    bob.sync_once(timeout_ms=0)
    assert _typing(room_id, alice.user_id)(bob.seen)
    alice.typing(room_id, False)
    bob.sync_until(_not_typing(room_id, alice.user_id), "the typing stop")
