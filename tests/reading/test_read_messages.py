"""GET /messages: tokens, directions, limits, filters and lazy-loaded members.

Spec: client-server API, "Getting events for a room", "Filtering",
"Lazy-loading room members".
"""

from __future__ import annotations

import pytest

from tests.reading.helpers import paginate_all, say
from tests.support import Room, bodies
from tests.support.server import TestServer


@pytest.fixture
def room(server: TestServer) -> Room:
    """alice's public room with bob joined and 25 messages m0..m24."""
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    assert bob.membership(room_id, "join").code == 200
    for i in range(25):
        say(alice, room_id, f"m{i}")
    return Room(room_id, alice, bob)


ALL = [f"m{i}" for i in range(25)]


def test_backwards_and_forwards_cover_everything_once(
    server: TestServer, room: dict
) -> None:
    back = paginate_all(room.bob, room.id, "b", limit=7)
    forward = paginate_all(room.bob, room.id, "f", limit=7)
    assert bodies(back) == ALL[::-1]
    assert bodies(forward) == ALL
    assert [e["event_id"] for e in back] == [e["event_id"] for e in forward][::-1]
    assert forward[0]["type"] == "m.room.create"
    assert len({e["event_id"] for e in back}) == len(back)


def test_pages_and_tokens_round_trip(server: TestServer, room: Room) -> None:
    first = room.bob.messages(room.id, limit=10)
    assert first.code == 200
    assert first.json["start"].startswith("s")
    assert bodies(first.json["chunk"]) == ALL[::-1][:10]
    second = room.bob.messages(room.id, limit=10, **{"from": first.json["end"]})
    assert second.json["start"] == first.json["end"]
    assert bodies(second.json["chunk"]) == ALL[::-1][10:20]
    # Forwards from the second page's end back to the first page's end is
    # exactly the second page, in chronological order.
    between = room.bob.messages(
        room.id,
        dir="f",
        limit=50,
        **{"from": second.json["end"], "to": first.json["end"]},
    )
    assert between.code == 200
    assert [e["event_id"] for e in between.json["chunk"]] == [
        e["event_id"] for e in second.json["chunk"]
    ][::-1]
    assert "end" in between.json  # it has events (as Synapse)
    # And forwards from the first page's end continues after m14.
    onwards = room.bob.messages(
        room.id, dir="f", limit=3, **{"from": first.json["end"]}
    )
    assert bodies(onwards.json["chunk"]) == ["m15", "m16", "m17"]


def test_to_token_backwards(server: TestServer, room: Room) -> None:
    first = room.bob.messages(room.id, limit=5)
    whole = room.bob.messages(room.id, limit=100, to=first.json["end"])
    assert [e["event_id"] for e in whole.json["chunk"]] == [
        e["event_id"] for e in first.json["chunk"]
    ]
    assert "end" in whole.json


def test_end_is_given_at_the_start_of_the_room(server: TestServer, room: dict) -> None:
    """As Synapse: the page that reaches the start of the room has ``end``;
    the next one is empty and has none."""
    resp = room.bob.messages(room.id, limit=1000)
    assert resp.json["chunk"][-1]["type"] == "m.room.create"
    assert "end" in resp.json
    last = room.bob.messages(room.id, limit=1000, **{"from": resp.json["end"]})
    assert last.json["chunk"] == []
    assert "end" not in last.json
    resp = room.bob.messages(room.id, dir="f", limit=1000)
    assert "end" in resp.json
    last = room.bob.messages(room.id, dir="f", **{"from": resp.json["end"]})
    assert last.json["chunk"] == []
    assert "end" not in last.json


def test_default_limit_is_ten_and_limit_is_capped(
    server: TestServer, room: dict
) -> None:
    assert len(room.bob.messages(room.id).json["chunk"]) == 10
    resp = room.bob.messages(room.id, limit=100000)
    assert resp.code == 200
    assert bodies(resp.json["chunk"]) == ALL[::-1]
    zero = room.bob.messages(room.id, limit=0)
    assert zero.code == 200 and zero.json["chunk"] == []


@pytest.mark.parametrize(
    ("query", "errcode"),
    [
        ({"dir": None}, "M_MISSING_PARAM"),
        ({"dir": "x"}, "M_INVALID_PARAM"),
        ({"from": "nonsense"}, "M_INVALID_PARAM"),
        ({"to": "t1"}, "M_INVALID_PARAM"),
        ({"limit": "ten"}, "M_INVALID_PARAM"),
        ({"limit": "-1"}, "M_INVALID_PARAM"),
        ({"filter": "{not json"}, "M_INVALID_PARAM"),
        ({"filter": '{"types": "m.room.message"}'}, "M_BAD_JSON"),
        ({"filter": '{"limit": -1}'}, "M_BAD_JSON"),
        ({"filter": '{"rooms": ["nope"]}'}, "M_BAD_JSON"),
        ({"filter": '["a"]'}, "M_BAD_JSON"),
    ],
)
def test_bad_parameters(
    server: TestServer, room: Room, query: dict, errcode: str
) -> None:
    params = {"dir": "b", **query}
    path = f"/rooms/{room.id}/messages"
    resp = room.bob.get(path, **params)
    assert resp.code == 400, resp.json
    assert resp.json["errcode"] == errcode


def test_unknown_room_and_auth(server: TestServer, room: Room) -> None:
    resp = room.bob.messages("!nowhere:test")
    assert resp.code == 404 and resp.json["errcode"] == "M_NOT_FOUND"
    resp = server.request("GET", f"/_matrix/client/v3/rooms/{room.id}/messages?dir=b")
    assert resp.code == 401


def test_r0_alias(server: TestServer, room: Room) -> None:
    resp = room.bob.get(f"/_matrix/client/r0/rooms/{room.id}/messages", dir="b")
    assert resp.code == 200 and len(resp.json["chunk"]) == 10


def test_type_and_sender_filters(server: TestServer, room: Room) -> None:
    room_id, alice, bob = room.id, room.alice, room.bob
    say(bob, room_id, "from bob")
    alice.send_event(room_id, {"body": "ping"}, event_type="org.example.ping")
    alice.send_event(
        room_id,
        {"msgtype": "m.image", "body": "cat.png", "url": "mxc://test/cat"},
    )

    def types_of(event_filter: dict) -> list[str]:
        events = paginate_all(bob, room_id, limit=4, filter=event_filter)
        return [e["type"] for e in events]

    only_messages = types_of({"types": ["m.room.message"]})
    assert set(only_messages) == {"m.room.message"} and len(only_messages) == 27
    wild = set(types_of({"types": ["m.room.*"]}))
    assert "org.example.ping" not in wild and "m.room.member" in wild
    assert set(types_of({"types": ["org.*"]})) == {"org.example.ping"}
    not_wild = set(types_of({"not_types": ["m.room.*"]}))
    assert not_wild == {"org.example.ping"}
    both = set(types_of({"types": ["m.room.message", "org.*"], "not_types": ["org.*"]}))
    assert both == {"m.room.message"}
    bob_only = paginate_all(bob, room_id, filter={"senders": [room.bob.user_id]})
    assert {e["sender"] for e in bob_only} == {room.bob.user_id}
    assert bodies(bob_only) == ["from bob"]
    not_alice = paginate_all(bob, room_id, filter={"not_senders": [room.alice.user_id]})
    assert {e["sender"] for e in not_alice} == {room.bob.user_id}
    with_url = paginate_all(bob, room_id, filter={"contains_url": True})
    assert bodies(with_url) == ["cat.png"]
    without_url = paginate_all(
        bob,
        room_id,
        filter={"contains_url": False, "types": ["m.room.message"]},
    )
    assert "cat.png" not in bodies(without_url) and len(bodies(without_url)) == 26
    other_room = paginate_all(bob, room_id, filter={"rooms": ["!other:test"]})
    assert other_room == []


def test_filter_limit_is_the_default_page_size(server: TestServer, room: Room) -> None:
    resp = room.bob.messages(room.id, filter={"limit": 3})
    assert len(resp.json["chunk"]) == 3
    resp = room.bob.messages(room.id, limit=5, filter={"limit": 3})
    assert len(resp.json["chunk"]) == 5


def test_sparse_filter_reads_past_non_matching_rows(
    server: TestServer, room: dict
) -> None:
    say(room.bob, room.id, "needle")
    for i in range(40):
        say(room.alice, room.id, f"hay{i}")
    resp = room.bob.messages(
        room.id, limit=2, filter={"not_senders": [room.alice.user_id]}
    )
    assert bodies(resp.json["chunk"]) == ["needle"]


def test_lazy_loaded_members(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    room_id = alice.create_room(preset="public_chat")
    carol.membership(room_id, "join")
    say(carol, room_id, "carol speaks")
    bob.membership(room_id, "join")
    say(bob, room_id, "bob speaks")
    say(alice, room_id, "alice speaks")

    plain = alice.messages(room_id, limit=3)
    assert "state" not in plain.json

    lazy = alice.messages(room_id, limit=3, filter={"lazy_load_members": True})
    chunk = lazy.json["chunk"]
    assert [e["type"] for e in chunk] == [
        "m.room.message",
        "m.room.message",
        "m.room.member",
    ]
    bob_join = chunk[2]["event_id"]
    state = lazy.json["state"]
    # alice's member event is needed; bob's is already in the chunk; carol sent
    # nothing in this chunk.
    assert [(e["type"], e["state_key"]) for e in state] == [
        ("m.room.member", alice.user_id)
    ]

    redundant = alice.messages(
        room_id,
        limit=3,
        filter={"lazy_load_members": True, "include_redundant_members": True},
    )
    keys = sorted(e["state_key"] for e in redundant.json["state"])
    assert keys == sorted([alice.user_id, bob.user_id])
    assert bob_join in {e["event_id"] for e in redundant.json["state"]}
    assert carol.user_id not in keys
