"""GET /notifications (v3 and r0): entries with actions, the client-format
event, read and ts, paging with from/limit/next_token, only=highlight."""

from __future__ import annotations

from typing import Any

from tests.push.eval.helpers import mention, read
from tests.push.eval.test_counts import group
from tests.support import TestServer, User


def notifications(user: User, **query: Any) -> Any:
    return user.get("/notifications", expect=200, **query).json


def test_paging_read_and_highlights(server: TestServer) -> None:
    alice, bob, _carol, room_id = group(server)
    first = bob.send(room_id, "one")
    second = mention(bob, room_id, "two", alice.user_id)
    third = bob.send(room_id, "three")
    read(alice, room_id, first)
    page = notifications(alice, limit=2)
    entries = page["notifications"]
    assert [e["event"]["event_id"] for e in entries] == [third, second]
    assert [e["read"] for e in entries] == [False, False]
    assert entries[0]["room_id"] == room_id
    assert entries[0]["event"]["content"]["body"] == "three"
    assert entries[0]["actions"][0] == "notify"
    assert isinstance(entries[0]["ts"], int)
    assert "profile_tag" in entries[0]
    assert {"set_tweak": "highlight"} in entries[1]["actions"]
    rest = notifications(alice, limit=2, **{"from": page["next_token"]})
    assert [(e["event"]["event_id"], e["read"]) for e in rest["notifications"]] == [
        (first, True)
    ]
    assert "next_token" not in rest
    high = notifications(alice, only="highlight")["notifications"]
    assert [e["event"]["event_id"] for e in high] == [second]
    # The r0 prefix serves it too.
    old = alice.get("/_matrix/client/r0/notifications", expect=200).json
    assert len(old["notifications"]) == 3


def test_bad_parameters(server: TestServer) -> None:
    alice = server.user("alice")
    bad = alice.get("/notifications", expect=400, **{"from": "nope"}).json
    assert bad["errcode"] == "M_INVALID_PARAM"
    bad = alice.get("/notifications", expect=400, limit="x").json
    assert bad["errcode"] == "M_INVALID_PARAM"
    assert notifications(alice) == {"notifications": []}


def test_ignored_sender_is_not_listed(server: TestServer) -> None:
    alice, bob, carol, room_id = group(server)
    alice.put(
        f"/user/{alice.user_id}/account_data/m.ignored_user_list",
        {"ignored_users": {bob.user_id: {}}},
        expect=200,
    )
    mention(bob, room_id, "alice!", alice.user_id)
    assert notifications(alice)["notifications"] == []
    assert len(notifications(carol)["notifications"]) == 1


def test_read_notifications_pruned_after_30_days(server: TestServer) -> None:
    alice, bob, _carol, room_id = group(server)
    seen = bob.send(room_id, "seen")
    read(alice, room_id, seen)
    bob.send(room_id, "unseen")
    server.advance(29 * 86400)
    assert len(notifications(alice)["notifications"]) == 2
    server.advance(2 * 86400)
    left = notifications(alice)["notifications"]
    assert [e["event"]["content"]["body"] for e in left] == ["unseen"]


def test_an_invite_notifies_the_invited_local_user(server: TestServer) -> None:
    alice = server.user("alice")
    dave = server.user("dave")
    room_id = alice.create_room(preset="private_chat")
    alice.invite(room_id, dave.user_id)
    entries = notifications(dave)["notifications"]
    assert [e["event"]["type"] for e in entries] == ["m.room.member"]
    assert entries[0]["event"]["state_key"] == dave.user_id
    assert entries[0]["room_id"] == room_id
    assert notifications(alice)["notifications"] == []
