"""Backfill across implementations: /messages reaches history from before the
join through GET /backfill, whichever server holds it."""

from __future__ import annotations

from tests.interop.chatly import Chatly
from tests.interop.client import Client
from tests.interop.synapse import Synapse


def test_we_backfill_from_synapse(
    alice: Client, bob: Client, synapse: Synapse, chatly: Chatly
) -> None:
    room_id = bob.create_room(preset="public_chat", name="history on synapse")
    early = [bob.send(room_id, f"early {i}") for i in range(15)]
    alice.join(room_id, via=[synapse.server_name])
    body = alice.call("GET", f"/rooms/{room_id}/messages?dir=b&limit=30")
    ids = [e["event_id"] for e in body["chunk"]]
    assert [i for i in ids if i in early] == list(reversed(early)), body
    assert body["chunk"][-1]["type"] == "m.room.create"


def test_synapse_backfills_from_us(
    alice: Client, bob: Client, synapse: Synapse, chatly: Chatly
) -> None:
    room_id = alice.create_room(preset="public_chat", name="history on chatly")
    early = [alice.send(room_id, f"early {i}") for i in range(15)]
    bob.join(room_id, via=[chatly.server_name])
    body = bob.call("GET", f"/rooms/{room_id}/messages?dir=b&limit=30")
    ids = [e["event_id"] for e in body["chunk"]]
    assert [i for i in ids if i in early] == list(reversed(early)), body
    later = alice.send(room_id, "later")
    bob.wait_for_event_id(room_id, later)
