"""Space hierarchies across two in-process servers: a space on one server
whose children live on the other, the federation endpoint served, its ACL
check and the cache of remote answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from homeserver.federation.serving.hierarchy import parse_answer
from tests.federation.pair import Federation, FederationPair, q
from tests.spaces.helpers import add_child, hierarchy, make_space, room_ids

FED = "/_matrix/federation/v1"


def _hierarchy_requests(pair: FederationPair) -> list[str]:
    return [uri for _, _, _, uri in pair.requests if "/hierarchy/" in uri]


def test_space_with_a_child_on_the_other_server(pair: FederationPair) -> None:
    alice = pair.a.user("alice")
    bob = pair.b.user("bob")
    space = make_space(alice, name="Home")
    public = bob.create_room(preset="public_chat", name="Bee room")
    private = bob.create_room(preset="private_chat", name="Secret")
    add_child(alice, space, public, via=["b.test"], order="1")
    add_child(alice, space, private, via=["b.test"], order="2")

    resp = hierarchy(alice, space)

    assert room_ids(resp) == [space, public]
    child = resp.json["rooms"][1]
    assert child["name"] == "Bee room"
    assert child["num_joined_members"] == 1
    assert child["children_state"] == []


def test_space_on_the_other_server(pair: FederationPair) -> None:
    alice = pair.a.user("alice")
    bob = pair.b.user("bob")
    space = make_space(bob, name="Bee space")
    public = bob.create_room(preset="public_chat", name="Open")
    private = bob.create_room(preset="private_chat", name="Closed")
    add_child(bob, space, public, order="1")
    add_child(bob, space, private, order="2")

    resp = hierarchy(alice, space)

    assert room_ids(resp) == [space, public]
    root = resp.json["rooms"][0]
    assert root["name"] == "Bee space"
    assert [c["state_key"] for c in root["children_state"]] == [public, private]
    assert resp.json["rooms"][1]["name"] == "Open"
    # The answer is cached: one request for the whole walk, and none again.
    assert len(_hierarchy_requests(pair)) == 1
    hierarchy(alice, space)
    assert len(_hierarchy_requests(pair)) == 1


def test_remote_answers_are_cached_briefly(pair: FederationPair) -> None:
    alice = pair.a.user("alice")
    bob = pair.b.user("bob")
    space = make_space(alice)
    child = bob.create_room(preset="public_chat", name="Before")
    add_child(alice, space, child, via=["b.test"])
    assert hierarchy(alice, space).json["rooms"][1]["name"] == "Before"
    bob.put_state(child, "m.room.name", {"name": "After"}, expect=200)

    assert hierarchy(alice, space).json["rooms"][1]["name"] == "Before"
    pair.a.advance(6 * 60)
    assert hierarchy(alice, space).json["rooms"][1]["name"] == "After"


def test_private_remote_space_is_forbidden(pair: FederationPair) -> None:
    alice = pair.a.user("alice")
    bob = pair.b.user("bob")
    space = make_space(bob, preset="private_chat")

    assert hierarchy(alice, space, expect=403).json["errcode"] == "M_FORBIDDEN"
    pair.set_reachable("b.test", False)
    other = make_space(bob)
    assert hierarchy(alice, other, expect=403).json["errcode"] == "M_FORBIDDEN"


def test_federation_endpoint_served(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    bob = b.user("bob")
    space = make_space(bob, name="Bee space")
    public = bob.create_room(preset="public_chat", name="Open")
    private = bob.create_room(preset="private_chat")
    suggested = bob.create_room(preset="public_chat")
    add_child(bob, space, public, order="1")
    add_child(bob, space, private, order="2")
    add_child(bob, space, suggested, order="3", suggested=True)
    add_child(bob, space, "!elsewhere:c.test", via=["c.test"], order="4")

    resp = pair.signed_request(a, b, "GET", f"{FED}/hierarchy/{q(space)}")

    assert resp.code == 200, resp.json
    room = resp.json["room"]
    assert room["room_id"] == space
    assert room["room_type"] == "m.space"
    assert [c["state_key"] for c in room["children_state"]] == [
        public,
        private,
        suggested,
        "!elsewhere:c.test",
    ]
    assert [c["room_id"] for c in resp.json["children"]] == [public, suggested]
    assert "children_state" not in resp.json["children"][0]
    assert resp.json["inaccessible_children"] == [private]

    resp = pair.signed_request(
        a, b, "GET", f"{FED}/hierarchy/{q(space)}?suggested_only=true"
    )
    assert [c["room_id"] for c in resp.json["children"]] == [suggested]
    assert [c["state_key"] for c in resp.json["room"]["children_state"]] == [suggested]

    resp = pair.signed_request(a, b, "GET", f"{FED}/hierarchy/{q(private)}")
    assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND")
    resp = pair.signed_request(a, b, "GET", f"{FED}/hierarchy/{q('!nope:b.test')}")
    assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND")
    resp = pair.signed_request(
        a, b, "GET", f"{FED}/hierarchy/{q(space)}?suggested_only=maybe"
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM")
    assert b.request("GET", f"{FED}/hierarchy/{q(space)}").code == 401


def test_restricted_child_is_shown_to_a_server_in_an_allowed_room(
    pair: FederationPair,
) -> None:
    a, b = pair.a, pair.b
    bob = b.user("bob")
    space = make_space(bob)
    restricted = bob.create_room(preset="private_chat", room_version="10")
    bob.put_state(
        restricted,
        "m.room.join_rules",
        {
            "join_rule": "restricted",
            "allow": [{"type": "m.room_membership", "room_id": space}],
        },
        expect=200,
    )
    add_child(bob, space, restricted)

    resp = pair.signed_request(a, b, "GET", f"{FED}/hierarchy/{q(space)}")
    assert resp.json["inaccessible_children"] == [restricted]

    alice = a.user("alice")
    alice.join_via(space, ["b.test"])
    resp = pair.signed_request(a, b, "GET", f"{FED}/hierarchy/{q(space)}")
    assert resp.json["inaccessible_children"] == []
    assert resp.json["children"][0]["allowed_room_ids"] == [space]
    # Alice (a member of the space) sees it; her server strips the server field.
    rooms = hierarchy(alice, space).json["rooms"]
    assert [r["room_id"] for r in rooms] == [space, restricted]
    assert "allowed_room_ids" not in rooms[1]


def test_server_acl_is_checked_first(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    bob = b.user("bob")
    space = make_space(bob)
    bob.put_state(
        space, "m.room.server_acl", {"allow": ["*"], "deny": ["a.test"]}, expect=200
    )

    for query in ("", "?suggested_only=maybe"):
        resp = pair.signed_request(a, b, "GET", f"{FED}/hierarchy/{q(space)}{query}")
        assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")


def test_the_next_via_server_is_tried(
    make_federation: Callable[[], Federation],
) -> None:
    fed = make_federation()
    a = fed.add_server("a.test")
    b = fed.add_server("b.test")
    fed.add_server("c.test")
    alice = a.user("alice")
    bob = b.user("bob")
    space = make_space(alice)
    child = bob.create_room(preset="public_chat", name="Reachable")
    fed.set_reachable("c.test", False)
    add_child(alice, space, child, via=["c.test", "b.test"])

    rooms = hierarchy(alice, space).json["rooms"]

    assert [r["room_id"] for r in rooms] == [space, child]
    assert rooms[1]["name"] == "Reachable"


def _answer(**changes: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "room": {
            "room_id": "!s:b.test",
            "children_state": [
                {
                    "type": "m.space.child",
                    "state_key": "!c:b.test",
                    "content": {"via": ["b.test"]},
                    "origin_server_ts": 1,
                }
            ],
        },
        "children": [{"room_id": "!c:b.test"}],
        "inaccessible_children": ["!d:b.test"],
    }
    answer.update(changes)
    return answer


def test_remote_answers_are_checked() -> None:
    parsed = parse_answer(_answer(), "!s:b.test")
    assert parsed.room == {"room_id": "!s:b.test"}
    assert parsed.children_state[0]["state_key"] == "!c:b.test"
    assert parsed.inaccessible_children == ["!d:b.test"]
    bad_event = {"type": "m.space.child", "state_key": "!c:b.test", "content": {}}
    for bad in (
        [],
        _answer(room=[]),
        _answer(room={"room_id": "!other:b.test"}),
        _answer(room={"room_id": "!s:b.test", "children_state": {}}),
        _answer(room={"room_id": "!s:b.test", "children_state": [bad_event]}),
        _answer(children=[1]),
        _answer(inaccessible_children=[5]),
    ):
        with pytest.raises(ValueError):
            parse_answer(bad, "!s:b.test")
