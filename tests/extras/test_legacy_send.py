"""POST /rooms/{roomId}/send/{eventType} and POST /rooms/{roomId}/redact/{eventId}:
the legacy forms without a transaction ID that Synapse still serves."""

from __future__ import annotations

from tests.support.events import bodies
from tests.support.server import TestServer


def test_send_without_txn_id(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room()
    content = {"msgtype": "m.text", "body": "hello"}
    first = alice.post(f"/rooms/{room}/send/m.room.message", content, expect=200)
    # No transaction ID: the same request again is another event.
    second = alice.post(f"/rooms/{room}/send/m.room.message", content, expect=200)
    assert first.json["event_id"] != second.json["event_id"]
    r0 = alice.post(
        f"/_matrix/client/r0/rooms/{room}/send/m.room.message",
        {"msgtype": "m.text", "body": "r0"},
        expect=200,
    )
    assert bodies(alice.timeline(room))[-3:] == ["hello", "hello", "r0"]
    event = alice.event(room, r0.json["event_id"], expect=200).json
    assert event["sender"] == alice.user_id
    # No transaction_id is echoed for an event sent without one.
    assert "transaction_id" not in event.get("unsigned", {})


def test_send_without_txn_id_checks_like_put(server: TestServer) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    room = alice.create_room()
    resp = bob.post(f"/rooms/{room}/send/m.room.message", {"body": "x"}, expect=403)
    assert resp.json["errcode"] == "M_FORBIDDEN"
    bad = alice.post(f"/rooms/{room}/send/m.room.message", b"[1]", expect=400)
    assert bad.json["errcode"] in ("M_NOT_JSON", "M_BAD_JSON")
    unauth = server.request(
        "POST", f"/_matrix/client/v3/rooms/{room}/send/m.room.message", {}
    )
    assert unauth.code == 401


def test_redact_without_txn_id(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room()
    target = alice.send(room, "oops")
    resp = alice.post(f"/rooms/{room}/redact/{target}", {"reason": "typo"}, expect=200)
    redaction = alice.event(room, resp.json["event_id"], expect=200).json
    assert redaction["type"] == "m.room.redaction"
    assert redaction["content"].get("reason") == "typo"
    assert alice.event(room, target, expect=200).json["content"] == {}
    # An empty body is fine, and r0 is served.
    other = alice.send(room, "again")
    alice.post(f"/_matrix/client/r0/rooms/{room}/redact/{other}", expect=200)
    assert alice.event(room, other, expect=200).json["content"] == {}


def test_redact_without_txn_id_needs_power(server: TestServer) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    target = alice.send(room, "mine")
    resp = bob.post(f"/rooms/{room}/redact/{target}", {}, expect=403)
    assert resp.json["errcode"] == "M_FORBIDDEN"
