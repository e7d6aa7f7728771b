"""GET /_matrix/client/v1/rooms/{roomId}/hierarchy on one server."""

from __future__ import annotations

import pytest

from tests.spaces.helpers import add_child, hierarchy, make_space, room_ids
from tests.support import User
from tests.support.server import TestServer


@pytest.fixture
def alice(server: TestServer) -> User:
    return server.user("alice")


@pytest.fixture
def bob(server: TestServer) -> User:
    return server.user("bob")


def test_space_with_children_in_order(alice: User) -> None:
    space = make_space(alice, name="Space", topic="All the rooms")
    first = alice.create_room(preset="public_chat", name="First")
    second = alice.create_room(preset="public_chat", name="Second")
    third = alice.create_room(preset="public_chat", name="Third")
    add_child(alice, space, third)
    add_child(alice, space, second, order="b")
    add_child(alice, space, first, order="a")

    resp = hierarchy(alice, space)

    # Valid ``order`` first (sorted), then the rest by timestamp.
    assert room_ids(resp) == [space, first, second, third]
    root = resp.json["rooms"][0]
    assert root["room_type"] == "m.space"
    assert root["name"] == "Space"
    assert root["topic"] == "All the rooms"
    assert root["join_rule"] == "public"
    assert root["num_joined_members"] == 1
    assert root["world_readable"] is False
    assert root["guest_can_join"] is False
    assert root["room_version"]
    children = root["children_state"]
    assert [c["state_key"] for c in children] == [first, second, third]
    assert children[0]["type"] == "m.space.child"
    assert children[0]["sender"] == alice.user_id
    assert children[0]["content"]["order"] == "a"
    assert isinstance(children[0]["origin_server_ts"], int)
    assert "next_batch" not in resp.json
    child = resp.json["rooms"][1]
    assert child["name"] == "First"
    assert child["children_state"] == []
    assert "room_type" not in child


def test_rooms_the_user_cannot_see_are_left_out(alice: User, bob: User) -> None:
    space = make_space(alice)
    public = alice.create_room(preset="public_chat")
    private = alice.create_room(preset="private_chat")
    invited = alice.create_room(preset="private_chat")
    readable = alice.create_room(preset="private_chat")
    alice.put_state(
        readable, "m.room.history_visibility", {"history_visibility": "world_readable"}
    )
    knock = alice.create_room(preset="private_chat", room_version="10")
    alice.put_state(knock, "m.room.join_rules", {"join_rule": "knock"})
    for child in (public, private, invited, readable, knock):
        add_child(alice, space, child)
    alice.invite(invited, bob.user_id)

    seen = set(room_ids(hierarchy(bob, space)))

    assert seen == {space, public, invited, readable, knock}
    # The creator, joined everywhere, sees them all.
    assert private in room_ids(hierarchy(alice, space))


def test_restricted_room_is_shown_to_members_of_an_allowed_room(
    server: TestServer, alice: User, bob: User
) -> None:
    carol = server.user("carol")
    space = make_space(alice)
    restricted = alice.create_room(preset="private_chat", room_version="10")
    alice.put_state(
        restricted,
        "m.room.join_rules",
        {
            "join_rule": "restricted",
            "allow": [{"type": "m.room_membership", "room_id": space}],
        },
    )
    add_child(alice, space, restricted)
    bob.join(space)

    assert restricted in room_ids(hierarchy(bob, space))
    assert restricted not in room_ids(hierarchy(carol, space))


def test_private_space_is_forbidden(alice: User, bob: User) -> None:
    space = make_space(alice, preset="private_chat")

    resp = hierarchy(bob, space, expect=403)

    assert resp.json["errcode"] == "M_FORBIDDEN"
    assert hierarchy(bob, "!unknown:test", expect=403).json["errcode"] == "M_FORBIDDEN"


def test_nested_spaces_and_max_depth(alice: User) -> None:
    space = make_space(alice)
    sub = make_space(alice)
    leaf = alice.create_room(preset="public_chat")
    other = alice.create_room(preset="public_chat")
    add_child(alice, space, sub, order="1")
    add_child(alice, space, other, order="2")
    add_child(alice, sub, leaf)

    # Depth first: the subspace's children come before the space's next child.
    assert room_ids(hierarchy(alice, space)) == [space, sub, leaf, other]
    assert room_ids(hierarchy(alice, space, max_depth=0)) == [space]
    assert room_ids(hierarchy(alice, space, max_depth=1)) == [space, sub, other]


def test_cycles_are_visited_once(alice: User) -> None:
    space = make_space(alice)
    sub = make_space(alice)
    add_child(alice, space, sub)
    add_child(alice, sub, space)

    assert room_ids(hierarchy(alice, space)) == [space, sub]


def test_suggested_only(alice: User) -> None:
    space = make_space(alice)
    suggested = alice.create_room(preset="public_chat")
    plain = alice.create_room(preset="public_chat")
    add_child(alice, space, suggested, suggested=True)
    add_child(alice, space, plain)

    resp = hierarchy(alice, space, suggested_only=True)

    assert room_ids(resp) == [space, suggested]
    assert [c["state_key"] for c in resp.json["rooms"][0]["children_state"]] == [
        suggested
    ]


def test_children_without_via_are_ignored(alice: User) -> None:
    space = make_space(alice)
    child = alice.create_room(preset="public_chat")
    gone = alice.create_room(preset="public_chat")
    add_child(alice, space, child)
    alice.put_state(space, "m.space.child", {}, gone, expect=200)
    redacted = alice.create_room(preset="public_chat")
    add_child(alice, space, redacted)
    event_id = _state_event_id(alice, space, redacted)
    alice.put(f"/rooms/{space}/redact/{event_id}/r1", {}, expect=200)

    assert room_ids(hierarchy(alice, space)) == [space, child]


def _state_event_id(user: User, room_id: str, state_key: str) -> str:
    state = user.get(f"/rooms/{room_id}/state", expect=200).json
    return next(
        e["event_id"]
        for e in state
        if e["type"] == "m.space.child" and e["state_key"] == state_key
    )


def test_pagination(alice: User) -> None:
    space = make_space(alice)
    children = [alice.create_room(preset="public_chat") for _ in range(4)]
    for n, child in enumerate(children):
        add_child(alice, space, child, order=str(n))

    first = hierarchy(alice, space, limit=2)
    assert room_ids(first) == [space, children[0]]
    token = first.json["next_batch"]
    second = hierarchy(alice, space, limit=2, **{"from": token})
    assert room_ids(second) == children[1:3]
    third = hierarchy(alice, space, limit=2, **{"from": second.json["next_batch"]})
    assert room_ids(third) == children[3:]
    assert "next_batch" not in third.json
    # A token can be read again (a client retrying a page).
    assert (
        room_ids(hierarchy(alice, space, limit=2, **{"from": token})) == children[1:3]
    )


def test_bad_parameters(alice: User, bob: User) -> None:
    space = make_space(alice)
    for child in [alice.create_room(preset="public_chat") for _ in range(2)]:
        add_child(alice, space, child)
    token = hierarchy(alice, space, limit=1).json["next_batch"]

    def error(user: User, **query: object) -> str:
        return str(hierarchy(user, space, expect=400, **query).json["errcode"])

    assert error(alice, **{"from": "nonsense"}) == "M_INVALID_PARAM"
    assert error(alice, max_depth=3, **{"from": token}) == "M_INVALID_PARAM"
    assert error(alice, suggested_only=True, **{"from": token}) == "M_INVALID_PARAM"
    # Another user's token is unknown to them.
    assert error(bob, **{"from": token}) == "M_INVALID_PARAM"
    assert error(alice, limit=0) == "M_INVALID_PARAM"
    assert error(alice, max_depth=-1) == "M_INVALID_PARAM"
    assert error(alice, limit="ten") == "M_INVALID_PARAM"
    assert error(alice, suggested_only="maybe") == "M_INVALID_PARAM"


def test_token_expires(server: TestServer, alice: User) -> None:
    space = make_space(alice)
    for child in [alice.create_room(preset="public_chat") for _ in range(2)]:
        add_child(alice, space, child)
    token = hierarchy(alice, space, limit=1).json["next_batch"]

    server.advance(6 * 60)

    resp = hierarchy(alice, space, limit=1, expect=400, **{"from": token})
    assert resp.json["errcode"] == "M_INVALID_PARAM"


def test_requires_auth(server: TestServer, alice: User) -> None:
    space = make_space(alice)
    resp = server.request("GET", f"/_matrix/client/v1/rooms/{space}/hierarchy")
    assert resp.code == 401
    assert resp.json["errcode"] == "M_MISSING_TOKEN"
