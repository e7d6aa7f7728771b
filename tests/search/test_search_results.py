"""POST /search: event_context, profiles, groups, highlights, include_state and
next_batch pagination."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reading.helpers import say
from tests.search.helpers import result_bodies, room_events, search
from tests.support import Room, User, bodies
from tests.support.server import TestServer


@pytest.fixture
def room(server: TestServer) -> Room:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    ids = [say(alice if i % 2 else bob, room_id, f"note number {i}") for i in range(12)]
    return Room(room_id, alice, bob, events=ids)


def pages(user: User, term: str, **criteria: Any) -> list[list[str]]:
    """Every page of results, following next_batch to the end."""
    out: list[list[str]] = []
    token = None
    for _ in range(50):
        resp = search(user, term, next_batch=token, **criteria)
        out.append(result_bodies(resp))
        token = room_events(resp).get("next_batch")
        if token is None:
            return out
    raise AssertionError("pagination did not finish")


def test_event_context_and_profiles(server: TestServer, room: Room) -> None:
    room.bob.put(
        f"/profile/{room.bob.user_id}/displayname", {"displayname": "Bobby"}, expect=200
    )
    resp = search(
        room.alice,
        "number 5",
        event_context={"before_limit": 2, "after_limit": 1, "include_profile": True},
    )
    (result,) = room_events(resp)["results"]
    context = result["context"]
    assert result["result"]["content"]["body"] == "note number 5"
    assert bodies(context["events_before"]) == ["note number 4", "note number 3"]
    assert bodies(context["events_after"]) == ["note number 6"]
    profiles = context["profile_info"]
    assert set(profiles) == {room.alice.user_id, room.bob.user_id}
    # The profile as it was at the time (bob's name changed later).
    assert profiles[room.bob.user_id]["displayname"] == "bob"
    assert "avatar_url" in profiles[room.alice.user_id]
    # The context tokens continue with /messages.
    back = room.alice.messages(room.id, limit=1, **{"from": context["start"]})
    assert bodies(back.json["chunk"]) == ["note number 2"]
    forward = room.alice.messages(room.id, dir="f", limit=1, **{"from": context["end"]})
    assert bodies(forward.json["chunk"]) == ["note number 7"]
    # Without include_profile there is no profile_info; without event_context,
    # an empty context.
    plain = search(room.alice, "number 5", event_context={})
    ctx = room_events(plain)["results"][0]["context"]
    assert "profile_info" not in ctx and len(ctx["events_before"]) == 5
    assert room_events(search(room.alice, "number 5"))["results"][0]["context"] == {}


def test_context_respects_history_visibility(server: TestServer) -> None:
    alice = server.user("alice")
    dave = server.user("dave")
    room_id = alice.create_room(preset="public_chat")
    alice.put_state(
        room_id, "m.room.history_visibility", {"history_visibility": "joined"}
    )
    say(alice, room_id, "hidden before")
    dave.join(room_id)
    say(alice, room_id, "findable after")
    resp = search(dave, "findable", event_context={"before_limit": 10})
    before = room_events(resp)["results"][0]["context"]["events_before"]
    assert "hidden before" not in bodies(before)


def test_highlights_and_count(server: TestServer, room: Room) -> None:
    say(room.alice, room.id, "Notebooks everywhere")
    body = room_events(search(room.alice, "note"))
    assert body["count"] == 13
    assert set(body["highlights"]) >= {"note", "notebooks"}
    assert len(body["results"]) == 10


@pytest.mark.parametrize("order_by", ["rank", "recent"])
def test_next_batch_pages_through_everything(
    server: TestServer, room: Room, order_by: str
) -> None:
    got = pages(room.alice, "number", order_by=order_by, filter={"limit": 5})
    assert [len(p) for p in got] == [5, 5, 2]
    flat = [b for p in got for b in p]
    assert sorted(flat) == sorted(f"note number {i}" for i in range(12))
    if order_by == "recent":
        assert flat == [f"note number {i}" for i in reversed(range(12))]


def test_next_batch_skips_what_the_user_may_not_see(server: TestServer) -> None:
    alice = server.user("alice")
    dave = server.user("dave")
    room_id = alice.create_room(preset="public_chat")
    alice.put_state(
        room_id, "m.room.history_visibility", {"history_visibility": "joined"}
    )
    for i in range(6):
        say(alice, room_id, f"early {i}")
    dave.join(room_id)
    for i in range(3):
        say(alice, room_id, f"late early {i}")
    got = pages(dave, "early", order_by="recent", filter={"limit": 2})
    assert [b for p in got for b in p] == [
        "late early 2",
        "late early 1",
        "late early 0",
    ]


def test_next_batch_must_match_the_order(server: TestServer, room: Room) -> None:
    first = room_events(search(room.alice, "number", filter={"limit": 2}))
    resp = search(
        room.alice,
        "number",
        order_by="recent",
        next_batch=first["next_batch"],
        expect=400,
    )
    assert resp.json["errcode"] == "M_INVALID_PARAM"


def test_groupings(server: TestServer, room: Room) -> None:
    other = room.alice.create_room()
    say(room.alice, other, "note number in the other room")
    resp = search(
        room.alice,
        "number",
        order_by="recent",
        filter={"limit": 4},
        groupings={"group_by": [{"key": "room_id"}, {"key": "sender"}]},
    )
    body = room_events(resp)
    results = [r["result"] for r in body["results"]]
    by_room = body["groups"]["room_id"]
    assert by_room[other]["results"] == [results[0]["event_id"]]
    assert by_room[other]["order"] == 1 and by_room[room.id]["order"] == 2
    assert by_room[room.id]["results"] == [e["event_id"] for e in results[1:]]
    senders = body["groups"]["sender"]
    assert set(senders) == {room.alice.user_id, room.bob.user_id}
    for sender, group in senders.items():
        assert group["results"] == [
            e["event_id"] for e in results if e["sender"] == sender
        ]
    # A room group's next_batch continues within that room only.
    token = by_room[room.id]["next_batch"]
    more = search(
        room.alice, "number", order_by="recent", filter={"limit": 20}, next_batch=token
    )
    assert result_bodies(more) == [f"note number {i}" for i in reversed(range(9))]


def test_room_group_next_batch_by_rank(server: TestServer, room: Room) -> None:
    other = room.alice.create_room()
    for i in range(3):
        say(room.alice, other, f"note number other {i}")
    first = room_events(
        search(
            room.alice,
            "number",
            filter={"limit": 6},
            groupings={"group_by": [{"key": "room_id"}]},
        )
    )
    seen = set(first["groups"]["room_id"][room.id]["results"])
    token = first["groups"]["room_id"][room.id]["next_batch"]
    rest = room_events(
        search(room.alice, "number", filter={"limit": 50}, next_batch=token)
    )
    rest_ids = {r["result"]["event_id"] for r in rest["results"]}
    assert {r["result"]["room_id"] for r in rest["results"]} == {room.id}
    assert not seen & rest_ids and len(seen | rest_ids) == 12


def test_include_state(server: TestServer, room: Room) -> None:
    room.alice.put_state(room.id, "m.room.topic", {"topic": "the state"})
    body = room_events(search(room.bob, "number 1", include_state=True))
    state = body["state"][room.id]
    assert {"type": "m.room.topic", "state_key": ""}.items() <= next(
        e for e in state if e["type"] == "m.room.topic"
    ).items()
    assert "state" not in room_events(search(room.bob, "number 1"))
