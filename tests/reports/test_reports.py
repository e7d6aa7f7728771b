"""Reporting events, rooms and users, and the admin API that lists them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import CLIENT, User
from tests.support.server import TestServer

ADMIN = "/_synapse/admin/v1"


@pytest.fixture
def alice(server: TestServer) -> User:
    return server.user("alice")


@pytest.fixture
def bob(server: TestServer) -> User:
    return server.user("bob")


@pytest.fixture
def admin(server: TestServer) -> User:
    return server.user("admin", admin=True)


def report_event(
    user: User, room_id: str, event_id: str, body: Any, expect: int = 200
) -> Any:
    return user.post(f"/rooms/{room_id}/report/{event_id}", body, expect=expect).json


def reports(admin: User, kind: str, **query: Any) -> Any:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return admin.get(f"{ADMIN}/{kind}_reports?{params}", expect=200).json


def test_report_an_event_and_read_it_as_admin(
    alice: User, bob: User, admin: User
) -> None:
    room = alice.create_room(preset="public_chat", name="Den", room_alias_name="den")
    bob.join(room)
    event_id = alice.send(room, "rude words")

    assert report_event(bob, room, event_id, {"reason": "rude", "score": -100}) == {}

    page = reports(admin, "event")
    assert page["total"] == 1
    assert "next_token" not in page
    (entry,) = page["event_reports"]
    assert entry["room_id"] == room
    assert entry["event_id"] == event_id
    assert entry["user_id"] == bob.user_id
    assert entry["sender"] == alice.user_id
    assert entry["reason"] == "rude"
    assert entry["score"] == -100
    assert entry["name"] == "Den"
    assert entry["canonical_alias"].startswith("#den:")
    assert isinstance(entry["received_ts"], int)
    detail = admin.get(f"{ADMIN}/event_reports/{entry['id']}", expect=200).json
    assert detail["event_json"]["content"]["body"] == "rude words"
    assert detail["reason"] == "rude"

    admin.delete(f"{ADMIN}/event_reports/{entry['id']}", expect=200)
    assert reports(admin, "event")["total"] == 0
    resp = admin.delete(f"{ADMIN}/event_reports/{entry['id']}", expect=404)
    assert resp.json["errcode"] == "M_NOT_FOUND"


def test_event_report_body_and_legacy_path(alice: User) -> None:
    room = alice.create_room()
    event_id = alice.send(room, "hi")
    # Reason and score are optional; the endpoint also exists under r0.
    assert report_event(alice, room, event_id, {}) == {}
    r0 = f"/_matrix/client/r0/rooms/{room}/report/{event_id}"
    alice.post(r0, {"reason": "again"}, expect=200)

    bad = report_event(alice, room, event_id, {"reason": 5}, expect=400)
    assert bad["errcode"] == "M_BAD_JSON"
    bad = report_event(alice, room, event_id, {"score": "-10"}, expect=400)
    assert bad["errcode"] == "M_BAD_JSON"


def test_unknown_or_invisible_events_are_404(
    server: TestServer, alice: User, bob: User
) -> None:
    private = alice.create_room(preset="private_chat")
    secret = alice.send(private, "secret")
    other = alice.create_room(preset="public_chat")
    redacted = alice.send(other, "oops")
    alice.put(f"/rooms/{other}/redact/{redacted}/r1", {}, expect=200)
    bob.join(other)

    for room, event_id, user in (
        (private, secret, bob),  # not in the room
        (other, secret, alice),  # the event is of another room
        (other, "$nope", bob),  # unknown
        (other, redacted, bob),  # redacted
    ):
        resp = report_event(user, room, event_id, {"reason": "x"}, expect=404)
        assert resp["errcode"] == "M_NOT_FOUND"
    resp = server.request(
        "POST", f"{CLIENT}/rooms/{other}/report/{redacted}", {"reason": "x"}
    )
    assert resp.code == 401


def test_report_a_room(alice: User, bob: User, admin: User) -> None:
    room = alice.create_room(preset="private_chat", name="Hidden")

    # Membership is not needed.
    bob.post(f"/rooms/{room}/report", {"reason": "spam"}, expect=200)

    resp = bob.post("/rooms/!nope:test/report", {"reason": "spam"}, expect=404)
    assert resp.json["errcode"] == "M_NOT_FOUND"
    resp = bob.post(f"/rooms/{room}/report", {}, expect=400)
    assert resp.json["errcode"] == "M_MISSING_PARAM"
    page = reports(admin, "room")
    assert page["total"] == 1
    (entry,) = page["room_reports"]
    assert (entry["room_id"], entry["user_id"], entry["reason"]) == (
        room,
        bob.user_id,
        "spam",
    )
    assert entry["name"] == "Hidden"
    detail = admin.get(f"{ADMIN}/room_reports/{entry['id']}", expect=200).json
    assert detail["reason"] == "spam"


def test_report_a_user_never_says_whether_they_exist(
    alice: User, bob: User, admin: User
) -> None:
    domain = bob.user_id.split(":", 1)[1]
    for target in (bob.user_id, f"@ghost:{domain}", "@someone:elsewhere.test"):
        assert (
            bob.post(f"/users/{target}/report", {"reason": "x"}, expect=200).json == {}
        )
    # Only the existing local user's report is kept.
    page = reports(admin, "user")
    assert page["total"] == 1
    entry = page["user_reports"][0]
    assert (entry["target_user_id"], entry["user_id"]) == (bob.user_id, bob.user_id)
    resp = alice.post(
        f"/users/{bob.user_id}/report", {"reason": "x" * 1001}, expect=400
    )
    assert resp.json["errcode"] == "M_BAD_JSON"
    resp = alice.post("/users/not-a-user/report", {"reason": "x"}, expect=400)
    assert resp.json["errcode"] == "M_INVALID_PARAM"
    admin.delete(f"{ADMIN}/user_reports/{entry['id']}", expect=200)
    assert reports(admin, "user")["total"] == 0


def test_admin_listing_pages_and_filters(
    server: TestServer, alice: User, bob: User, admin: User
) -> None:
    room = alice.create_room(preset="public_chat")
    other = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.join(other)
    events = [alice.send(room, f"m{n}") for n in range(3)]
    mine = bob.send(other, "bob's")
    for event_id in events:
        report_event(bob, room, event_id, {"reason": event_id})
        server.advance(1)
    report_event(alice, other, mine, {"reason": "bob"})

    newest_first = reports(admin, "event", limit=2)
    assert newest_first["total"] == 4
    assert newest_first["next_token"] == 2
    assert [e["reason"] for e in newest_first["event_reports"]] == ["bob", events[2]]
    rest = reports(admin, "event", limit=2, **{"from": 2})
    assert [e["reason"] for e in rest["event_reports"]] == [events[1], events[0]]
    assert "next_token" not in rest
    oldest = reports(admin, "event", dir="f", limit=1)
    assert oldest["event_reports"][0]["reason"] == events[0]
    assert reports(admin, "event", room_id=other)["total"] == 1
    assert reports(admin, "event", user_id=alice.user_id)["total"] == 1
    by_sender = reports(admin, "event", event_sender_user_id=bob.user_id)
    assert [e["event_id"] for e in by_sender["event_reports"]] == [mine]


def test_admin_api_errors(alice: User, admin: User) -> None:
    resp = alice.get(f"{ADMIN}/event_reports", expect=403)
    assert resp.json["errcode"] == "M_FORBIDDEN"
    for query in ("from=-1", "limit=-1", "dir=x", "limit=ten"):
        resp = admin.get(f"{ADMIN}/event_reports?{query}", expect=400)
        assert resp.json["errcode"] == "M_INVALID_PARAM"
    for kind in ("event", "room", "user"):
        resp = admin.get(f"{ADMIN}/{kind}_reports/abc", expect=400)
        assert resp.json["errcode"] == "M_INVALID_PARAM"
        resp = admin.get(f"{ADMIN}/{kind}_reports/-1", expect=400)
        assert resp.json["errcode"] == "M_INVALID_PARAM"
        resp = admin.get(f"{ADMIN}/{kind}_reports/99", expect=404)
        assert resp.json["errcode"] == "M_NOT_FOUND"


def test_reports_are_rate_limited(make_server: Any) -> None:
    server = make_server(
        {
            "rate_limiting": {
                "enabled": True,
                "reports": {"per_second": 1, "burst_count": 3},
            }
        }
    )
    alice = server.user("alice")
    room = alice.create_room()
    event_id = alice.send(room, "hi")
    for _ in range(3):
        report_event(alice, room, event_id, {})
    # Every kind of report counts against the one limit.
    resp = alice.post(f"/rooms/{room}/report", {"reason": "x"}, expect=429)
    assert resp.json["errcode"] == "M_LIMIT_EXCEEDED"
    assert resp.json["retry_after_ms"] > 0
    server.advance(2)
    alice.post(f"/users/{alice.user_id}/report", {"reason": "x"}, expect=200)
