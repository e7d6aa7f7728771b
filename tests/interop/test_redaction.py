"""Redactions, both directions: the redaction arrives and the content is gone."""

from __future__ import annotations

from tests.interop.chatly import Chatly
from tests.interop.client import Client, quote
from tests.interop.forge import Forger
from tests.interop.rooms import room_joined_across
from tests.interop.synapse import Synapse


def _redacts(event: dict[str, object], target: str) -> bool:
    content = event.get("content")
    in_content = isinstance(content, dict) and content.get("redacts") == target
    return event.get("type") == "m.room.redaction" and (
        event.get("redacts") == target or in_content
    )


def _redact_across(author: Client, reader: Client, room_id: str) -> None:
    secret = author.send(room_id, "oops, a secret")
    reader.wait_for_event_id(room_id, secret)
    redaction = author.redact(room_id, secret)
    seen = reader.wait_for_event_id(room_id, redaction)
    assert _redacts(seen, secret), seen
    # The reader's server pruned the original event.
    event = reader.call("GET", f"/rooms/{quote(room_id)}/event/{quote(secret)}")
    assert event["content"] == {}
    assert event["unsigned"]["redacted_because"]["event_id"] == redaction


def test_redactions_in_a_synapse_room(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    _redact_across(bob, alice, room_id)
    _redact_across(alice, bob, room_id)


def test_redactions_in_our_room(chatly: Chatly, alice: Client, bob: Client) -> None:
    room_id = room_joined_across(alice, chatly.server_name, bob)
    _redact_across(alice, bob, room_id)
    _redact_across(bob, alice, room_id)


def test_a_redaction_naming_an_event_of_another_room_redacts_nothing(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    """bob, admin of his Synapse room, sends (through Synapse) a redaction
    naming an event of one of our rooms he is not in: stored, applied to
    nothing; alice's own redaction later is the one ``redacted_because`` names."""
    room_id = room_joined_across(bob, synapse.server_name, alice)
    forger = Forger(chatly, synapse, alice, room_id)
    private = alice.create_room()
    secret = alice.send(private, "only for alice")
    cross = forger.redaction(bob.user_id, secret)
    cross_id = forger.event_id(cross)
    assert forger.send([cross]) == {cross_id: {}}
    alice.wait_for_event_id(room_id, cross_id)
    path = f"/rooms/{quote(private)}/event/{quote(secret)}"
    assert alice.call("GET", path)["content"]["body"] == "only for alice"

    own = alice.redact(private, secret)
    event = alice.call("GET", path)
    assert event["content"] == {}
    assert event["unsigned"]["redacted_because"]["event_id"] == own
