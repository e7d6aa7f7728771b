"""PUT /send between two real servers: delivery to /sync, idempotency,
limits, server ACLs."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.events.model import EventTypes
from tests.federation.joined_pair import (
    FED,
    send_message,
    send_pdus,
    shared_room,
)
from tests.federation.pair import FederationPair


@pytest.mark.parametrize("version", ["10", "12"])
def test_join_and_messages_cross_both_ways(pair: FederationPair, version: str) -> None:
    a, b = pair.a, pair.b
    room = shared_room(pair, a, b, room_version=version)
    # The join arrived on a as a remote event; bob's server stored the room.
    members = a.get_success(a.hs.core.room_state.get_members(room.room_id))
    assert members[room.joiner.user_id][0] == "join"
    assert b.get_success(
        b.hs.core.room_state.get_membership(room.room_id, room.joiner.user_id)
    )
    # alice's message reaches bob through a's sender and b's /send.
    event_id = send_message(room.creator, room.room_id, "hello bob")
    pair.pump(0.1)
    ids = [e["event_id"] for e in room.joiner.timeline(room.room_id)]
    assert ids[-1] == event_id
    # And bob's answer reaches alice.
    answer = send_message(room.joiner, room.room_id, "hi alice")
    pair.pump(0.1)
    ids = [e["event_id"] for e in room.creator.timeline(room.room_id)]
    assert ids[-1] == answer


def _message_pdu(pair: FederationPair, room: Any, body: str) -> dict[str, Any]:
    """A message bob's server builds (and stores) but has not sent yet."""
    b = pair.b
    pair.set_reachable("a.test", False)
    event_id = send_message(room.joiner, room.room_id, body)
    pair.pump(0.1)
    pair.set_reachable("a.test", True)
    event = b.get_success(b.hs.core.events.get_event(event_id))
    return dict(event.pdu) | {"_id": event_id}


def test_transaction_is_idempotent(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    room = shared_room(pair, a, b)
    pdu = _message_pdu(pair, room, "once")
    event_id = pdu.pop("_id")
    first = send_pdus(pair, b, a, "txn-1", [pdu])
    assert first.code == 200 and first.json == {"pdus": {event_id: {}}}
    position = a.hs.core.persister.stream_ids.current_position()
    again = send_pdus(pair, b, a, "txn-1", [pdu])
    assert again.code == 200 and again.json == first.json
    assert a.hs.core.persister.stream_ids.current_position() == position
    ids = [e["event_id"] for e in room.creator.timeline(room.room_id)]
    assert ids.count(event_id) == 1


def test_transaction_limits(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    too_many_pdus = send_pdus(pair, b, a, "big-1", [{"room_id": "!x:a.test"}] * 51)
    assert too_many_pdus.code == 400
    assert too_many_pdus.json["errcode"] == "M_BAD_JSON"
    body = {"origin": "b.test", "origin_server_ts": 0, "pdus": [], "edus": [{}] * 101}
    too_many_edus = pair.signed_request(b, a, "PUT", f"{FED}/send/big-2", body)
    assert too_many_edus.code == 400
    body["edus"] = [{}] * 100
    assert pair.signed_request(b, a, "PUT", f"{FED}/send/ok", body).code == 200


def test_unsigned_transaction_is_refused(pair: FederationPair) -> None:
    resp = pair.a.request("PUT", f"{FED}/send/1", {"pdus": []})
    assert resp.code == 401
    assert resp.json["errcode"] == "M_UNAUTHORIZED"


def test_server_acl_denies_pdus_and_room_edus(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    room = shared_room(pair, a, b)
    resp = a.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{room.room_id}/state/{EventTypes.SERVER_ACL}/",
        {"allow": ["*"], "deny": ["b.test"]},
        room.creator.token,
    )
    assert resp.code == 200, resp.json
    typing: list[Any] = []

    async def record(origin: str, content: dict[str, Any]) -> None:
        typing.append(content)

    a.hs.federation.edus.registry.register("m.typing", record)
    receipts: list[Any] = []

    async def record_receipt(origin: str, content: dict[str, Any]) -> None:
        receipts.append(content)

    a.hs.federation.edus.registry.register("m.receipt", record_receipt)
    pdu = _message_pdu(pair, room, "denied")
    event_id = pdu.pop("_id")
    body = {
        "origin": "b.test",
        "origin_server_ts": 0,
        "pdus": [pdu],
        "edus": [
            {
                "edu_type": "m.typing",
                "content": {
                    "room_id": room.room_id,
                    "user_id": room.joiner.user_id,
                    "typing": True,
                },
            },
            {
                "edu_type": "m.receipt",
                "content": {room.room_id: {}, "!other:a.test": {}},
            },
            {
                "edu_type": "m.typing",
                "content": {
                    "room_id": "!other:a.test",
                    "user_id": room.joiner.user_id,
                    "typing": True,
                },
            },
        ],
    }
    resp = pair.signed_request(b, a, "PUT", f"{FED}/send/acl", body)
    assert resp.code == 200
    assert "error" in resp.json["pdus"][event_id]
    assert a.get_success(a.hs.core.events.get_event(event_id)) is None
    assert [t["room_id"] for t in typing] == ["!other:a.test"]
    assert receipts == [{"!other:a.test": {}}]
    quoted = room.room_id.replace("!", "%21").replace(":", "%3A")
    join_id = room.join_event.event_id
    denied = pair.signed_request(
        b, a, "GET", f"{FED}/state_ids/{quoted}?event_id={join_id.replace('$', '%24')}"
    )
    assert denied.code == 403 and denied.json["errcode"] == "M_FORBIDDEN"
