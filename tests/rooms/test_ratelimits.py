"""Per-user rate limits on what users do in rooms: sending events, joining
(locally and through another server), inviting, creating rooms. Answered
429 M_LIMIT_EXCEEDED with retry_after_ms; server admins are exempt."""

from __future__ import annotations

from typing import Any

from homeserver.services.accounts.auth import Requester
from homeserver.types import UserID
from homeserver.util.ports import Port
from tests.support import CLIENT
from tests.support.server import FakeResponse


def limited(overrides: dict[str, Any]) -> dict[str, Any]:
    return {"rate_limiting": {"enabled": True, **overrides}}


def assert_limited(resp: FakeResponse) -> None:
    assert resp.code == 429, resp.json
    assert resp.json["errcode"] == "M_LIMIT_EXCEEDED"
    assert resp.json["retry_after_ms"] > 0


def test_sending_events_is_limited(make_server: Any) -> None:
    server = make_server(limited({"message": {"per_second": 1, "burst_count": 3}}))
    alice = server.user("alice")
    room = alice.create_room()  # room creation is not counted here
    first = alice.send_event(room, {"msgtype": "m.text", "body": "1"})
    assert first.code == 200
    assert alice.put_state(room, "m.room.topic", {"topic": "t"}).code == 200
    redact = alice.put(f"{CLIENT}/rooms/{room}/redact/{first.json['event_id']}/r1", {})
    assert redact.code == 200
    assert_limited(alice.send_event(room, {"msgtype": "m.text", "body": "2"}))
    assert_limited(alice.put_state(room, "m.room.topic", {"topic": "u"}))
    server.advance(1)
    assert alice.send_event(room, {"msgtype": "m.text", "body": "3"}).code == 200


def test_server_admins_are_exempt(make_server: Any) -> None:
    server = make_server(
        limited(
            {
                "message": {"per_second": 0.01, "burst_count": 1},
                "room_creation": {"per_second": 0.01, "burst_count": 1},
            }
        )
    )
    root = server.user("root", admin=True)
    room = root.create_room()
    root.create_room()
    for n in range(5):
        assert root.send_event(room, {"msgtype": "m.text", "body": str(n)}).code == 200


def test_the_exemption_covers_application_services() -> None:
    """Application services registered with ``rate_limited: false`` are
    exempt (tests/appservices/test_as_limits_and_keys.py over HTTP)."""
    user = UserID.parse("@bot:test")
    assert not Requester(user, "D", "h").ratelimit_exempt
    assert Requester(user, "D", "h", is_admin=True).ratelimit_exempt
    assert not Requester(user, "D", "h", app_service_id="irc").ratelimit_exempt
    assert Requester(
        user, "D", "h", app_service_id="irc", app_service_rate_limited=False
    ).ratelimit_exempt


def test_room_creation_is_limited(make_server: Any) -> None:
    server = make_server(
        limited({"room_creation": {"per_second": 0.5, "burst_count": 2}})
    )
    alice = server.user("alice")
    alice.create_room()
    alice.create_room()
    before = server.get_success(
        server.db.run_interaction(
            "n", lambda txn: txn.query_one("SELECT COUNT(*) FROM rooms")
        )
    )
    assert_limited(alice.post(f"{CLIENT}/createRoom", {}))
    after = server.get_success(
        server.db.run_interaction(
            "n", lambda txn: txn.query_one("SELECT COUNT(*) FROM rooms")
        )
    )
    assert after == before
    server.advance(2)
    alice.create_room()


def test_local_joins_are_limited(make_server: Any) -> None:
    server = make_server(
        limited({"joins_local": {"per_second": 0.1, "burst_count": 2}})
    )
    owner = server.user("owner")
    joiner = server.user("joiner")
    rooms = [owner.create_room(preset="public_chat") for _ in range(3)]
    for room in rooms[:2]:
        assert joiner.post(f"{CLIENT}/join/{room}", {}).code == 200
    # Joining a room one is in already costs nothing.
    assert joiner.post(f"{CLIENT}/join/{rooms[0]}", {}).code == 200
    assert_limited(joiner.post(f"{CLIENT}/join/{rooms[2]}", {}))
    server.advance(10)
    assert joiner.post(f"{CLIENT}/join/{rooms[2]}", {}).code == 200


def test_remote_joins_are_limited(make_server: Any) -> None:
    server = make_server(
        limited({"joins_remote": {"per_second": 0.01, "burst_count": 1}})
    )
    _, token = server.register("alice")
    joined: list[str] = []

    class FakeRemote:
        async def join(self, user_id: str, room_id: str, *args: Any) -> None:
            joined.append(room_id)

    server.hs.rooms.membership.remote = Port(FakeRemote())  # type: ignore[arg-type]
    path = f"{CLIENT}/join/!one:elsewhere.example"
    assert server.request("POST", path, {}, token=token).code == 200
    resp = server.request(
        "POST", f"{CLIENT}/join/!two:elsewhere.example", {}, token=token
    )
    assert_limited(resp)
    assert joined == ["!one:elsewhere.example"]


def test_invites_are_limited_per_issuer_room_and_invitee(make_server: Any) -> None:
    server = make_server(
        limited(
            {
                "invites_per_issuer": {"per_second": 0.01, "burst_count": 3},
                "invites_per_room": {"per_second": 0.01, "burst_count": 2},
                "invites_per_user": {"per_second": 0.01, "burst_count": 1},
            }
        )
    )
    alice = server.user("alice")
    for name in ("b1", "b2", "b3", "b4"):
        server.user(name)
    room1, room2, room3 = (alice.create_room() for _ in range(3))
    # Per room: two invites into room1, then no more.
    assert alice.membership(room1, "invite", user_id="@b1:test").code == 200
    assert alice.membership(room1, "invite", user_id="@b2:test").code == 200
    assert_limited(alice.membership(room1, "invite", user_id="@b3:test"))
    # Per invitee: b1 has had their one invite.
    assert_limited(alice.membership(room2, "invite", user_id="@b1:test"))
    # Per issuer: alice's third invite, then none (a refused one cost nothing).
    assert alice.membership(room2, "invite", user_id="@b3:test").code == 200
    assert_limited(alice.membership(room3, "invite", user_id="@b4:test"))


def test_a_retried_transaction_gets_its_event_not_429(make_server: Any) -> None:
    server = make_server(limited({"message": {"per_second": 0.01, "burst_count": 1}}))
    alice = server.user("alice")
    room = alice.create_room()
    content = {"msgtype": "m.text", "body": "once"}
    first = alice.send_event(room, content, txn_id="retry-me")
    assert first.code == 200
    assert_limited(alice.send_event(room, {"msgtype": "m.text", "body": "x"}))
    again = alice.send_event(room, content, txn_id="retry-me")
    assert again.code == 200, again.json
    assert again.json["event_id"] == first.json["event_id"]
