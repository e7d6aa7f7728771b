"""Per-user rate limits on what users do in rooms: sending events, joining
(locally and through another server), inviting, creating rooms. Answered
429 M_LIMIT_EXCEEDED with retry_after_ms; server admins are exempt."""

from __future__ import annotations

from typing import Any

from homeserver.services.accounts.auth import Requester
from homeserver.types import UserID
from tests.harness import FakeResponse
from tests.rooms.helpers import CLIENT, create_room, membership, put_state, send


def limited(overrides: dict[str, Any]) -> dict[str, Any]:
    return {"rate_limiting": {"enabled": True, **overrides}}


def assert_limited(resp: FakeResponse) -> None:
    assert resp.code == 429, resp.json
    assert resp.json["errcode"] == "M_LIMIT_EXCEEDED"
    assert resp.json["retry_after_ms"] > 0


def test_sending_events_is_limited(make_server: Any) -> None:
    server = make_server(limited({"message": {"per_second": 1, "burst_count": 3}}))
    _, token = server.register("alice")
    room = create_room(server, token)  # room creation is not counted here
    first = send(server, token, room, {"msgtype": "m.text", "body": "1"})
    assert first.code == 200
    assert put_state(server, token, room, "m.room.topic", {"topic": "t"}).code == 200
    redact = server.request(
        "PUT",
        f"{CLIENT}/rooms/{room}/redact/{first.json['event_id']}/r1",
        {},
        token=token,
    )
    assert redact.code == 200
    assert_limited(send(server, token, room, {"msgtype": "m.text", "body": "2"}))
    assert_limited(put_state(server, token, room, "m.room.topic", {"topic": "u"}))
    server.advance(1)
    assert send(server, token, room, {"msgtype": "m.text", "body": "3"}).code == 200


def test_server_admins_are_exempt(make_server: Any) -> None:
    server = make_server(
        limited(
            {
                "message": {"per_second": 0.01, "burst_count": 1},
                "room_creation": {"per_second": 0.01, "burst_count": 1},
            }
        )
    )
    _, token = server.register("root", admin=True)
    room = create_room(server, token)
    create_room(server, token)
    for n in range(5):
        assert (
            send(server, token, room, {"msgtype": "m.text", "body": str(n)}).code == 200
        )


def test_the_exemption_covers_application_services() -> None:
    """No application services yet: the flag their auth will set exempts."""
    user = UserID.parse("@bot:test")
    assert not Requester(user, "D", "h").ratelimit_exempt
    assert Requester(user, "D", "h", is_admin=True).ratelimit_exempt
    assert Requester(user, "D", "h", app_service_id="irc").ratelimit_exempt


def test_room_creation_is_limited(make_server: Any) -> None:
    server = make_server(
        limited({"room_creation": {"per_second": 0.5, "burst_count": 2}})
    )
    _, token = server.register("alice")
    create_room(server, token)
    create_room(server, token)
    before = server.get_success(
        server.db.run_interaction(
            "n", lambda txn: txn.query_one("SELECT COUNT(*) FROM rooms")
        )
    )
    assert_limited(server.request("POST", f"{CLIENT}/createRoom", {}, token=token))
    after = server.get_success(
        server.db.run_interaction(
            "n", lambda txn: txn.query_one("SELECT COUNT(*) FROM rooms")
        )
    )
    assert after == before
    server.advance(2)
    create_room(server, token)


def test_local_joins_are_limited(make_server: Any) -> None:
    server = make_server(
        limited({"joins_local": {"per_second": 0.1, "burst_count": 2}})
    )
    _, owner = server.register("owner")
    _, joiner = server.register("joiner")
    rooms = [create_room(server, owner, preset="public_chat") for _ in range(3)]
    for room in rooms[:2]:
        assert (
            server.request("POST", f"{CLIENT}/join/{room}", {}, token=joiner).code
            == 200
        )
    # Joining a room one is in already costs nothing.
    assert (
        server.request("POST", f"{CLIENT}/join/{rooms[0]}", {}, token=joiner).code
        == 200
    )
    assert_limited(
        server.request("POST", f"{CLIENT}/join/{rooms[2]}", {}, token=joiner)
    )
    server.advance(10)
    assert (
        server.request("POST", f"{CLIENT}/join/{rooms[2]}", {}, token=joiner).code
        == 200
    )


def test_remote_joins_are_limited(make_server: Any) -> None:
    server = make_server(
        limited({"joins_remote": {"per_second": 0.01, "burst_count": 1}})
    )
    _, token = server.register("alice")
    joined: list[str] = []

    class FakeRemote:
        async def join(self, user_id: str, room_id: str, *args: Any) -> None:
            joined.append(room_id)

    server.hs.membership.remote = FakeRemote()  # type: ignore[assignment]
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
    _, alice = server.register("alice")
    for name in ("b1", "b2", "b3", "b4"):
        server.register(name)
    room1, room2, room3 = (create_room(server, alice) for _ in range(3))
    # Per room: two invites into room1, then no more.
    assert membership(server, alice, room1, "invite", user_id="@b1:test").code == 200
    assert membership(server, alice, room1, "invite", user_id="@b2:test").code == 200
    assert_limited(membership(server, alice, room1, "invite", user_id="@b3:test"))
    # Per invitee: b1 has had their one invite.
    assert_limited(membership(server, alice, room2, "invite", user_id="@b1:test"))
    # Per issuer: alice's third invite, then none (a refused one cost nothing).
    assert membership(server, alice, room2, "invite", user_id="@b3:test").code == 200
    assert_limited(membership(server, alice, room3, "invite", user_id="@b4:test"))


def test_a_retried_transaction_gets_its_event_not_429(make_server: Any) -> None:
    server = make_server(limited({"message": {"per_second": 0.01, "burst_count": 1}}))
    _, token = server.register("alice")
    room = create_room(server, token)
    content = {"msgtype": "m.text", "body": "once"}
    first = send(server, token, room, content, txn_id="retry-me")
    assert first.code == 200
    assert_limited(send(server, token, room, {"msgtype": "m.text", "body": "x"}))
    again = send(server, token, room, content, txn_id="retry-me")
    assert again.code == 200, again.json
    assert again.json["event_id"] == first.json["event_id"]
