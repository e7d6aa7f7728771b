"""GET/POST /publicRooms: entries, filtering, ordering, pagination, auth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support import CLIENT, User
from tests.support.server import FakeResponse, TestServer

Users = dict[str, User]
URL = f"{CLIENT}/publicRooms"


@pytest.fixture
def users(server: TestServer) -> Users:
    return {name: server.user(name) for name in ("alice", "bob", "carol", "dave")}


def publish(user: User, room_id: str, public: bool = True) -> None:
    resp = user.put(
        f"{CLIENT}/directory/list/room/{room_id}",
        {"visibility": "public" if public else "private"},
    )
    assert resp.code == 200, resp.json


def public_room(user: User, **body: Any) -> str:
    return user.create_room(visibility="public", preset="public_chat", **body)


def get_rooms(server: TestServer, token: str | None, query: str = "") -> FakeResponse:
    return server.request("GET", f"{URL}{query}", token=token)


def post_rooms(server: TestServer, token: str | None, body: Any) -> FakeResponse:
    return server.request("POST", URL, body, token=token)


def ids(resp: FakeResponse) -> list[str]:
    assert resp.code == 200, resp.json
    return [entry["room_id"] for entry in resp.json["chunk"]]


def assert_error(resp: FakeResponse, code: int, errcode: str) -> None:
    assert resp.code == code, resp.json
    assert resp.json["errcode"] == errcode, resp.json


def test_entry_fields(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = public_room(
        alice, name="Cheese", topic="Tasty cheese", room_alias_name="cheese"
    )
    alice.put_state(room_id, "m.room.avatar", {"url": "mxc://test/abc"})
    alice.put_state(
        room_id, "m.room.history_visibility", {"history_visibility": "world_readable"}
    )
    alice.put_state(room_id, "m.room.guest_access", {"guest_access": "can_join"})
    users["bob"].membership(room_id, "join")
    resp = get_rooms(server, alice.token)
    assert resp.code == 200, resp.json
    assert resp.json == {
        "chunk": [
            {
                "room_id": room_id,
                "name": "Cheese",
                "topic": "Tasty cheese",
                "canonical_alias": "#cheese:test",
                "avatar_url": "mxc://test/abc",
                "num_joined_members": 2,
                "world_readable": True,
                "guest_can_join": True,
                "join_rule": "public",
            }
        ],
        "total_room_count_estimate": 1,
    }


def test_minimal_entry_and_room_type(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = public_room(alice, creation_content={"type": "m.space"})
    resp = get_rooms(server, alice.token)
    assert resp.json["chunk"] == [
        {
            "room_id": room_id,
            "num_joined_members": 1,
            "world_readable": False,
            "guest_can_join": False,
            "join_rule": "public",
            "room_type": "m.space",
        }
    ]


def test_topic_from_m_topic(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = public_room(alice)
    topic = {
        "topic": "",
        "m.topic": {
            "m.text": [
                {"mimetype": "text/html", "body": "<b>Hi</b>"},
                {"body": "Hi"},
            ]
        },
    }
    assert alice.put_state(room_id, "m.room.topic", topic).code == 200
    assert get_rooms(server, alice.token).json["chunk"][0]["topic"] == "Hi"


def test_which_rooms_are_listed(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    listed = public_room(alice)
    unpublished = alice.create_room(preset="public_chat")
    invite_only = alice.create_room(visibility="public", preset="private_chat")
    readable = alice.create_room(visibility="public", preset="private_chat")
    alice.put_state(
        readable, "m.room.history_visibility", {"history_visibility": "world_readable"}
    )
    knock = alice.create_room(visibility="public", preset="private_chat")
    alice.put_state(knock, "m.room.join_rules", {"join_rule": "knock"})
    empty = public_room(users["bob"])
    users["bob"].membership(empty, "leave")
    assert sorted(ids(get_rooms(server, alice.token))) == sorted(
        [listed, readable, knock]
    )
    assert (
        unpublished and invite_only
    )  # published-but-invite-only and unpublished: hidden
    publish(alice, listed, public=False)
    assert sorted(ids(get_rooms(server, alice.token))) == sorted([readable, knock])


@pytest.fixture
def five_rooms(server: TestServer, users: Users) -> list[str]:
    """Five public rooms; in directory order: 4, 3, 2, 1, 1 joined members."""
    alice = users["alice"]
    sizes = [2, 4, 1, 3, 1]
    others = [users[name] for name in ("bob", "carol", "dave")]
    rooms = []
    for i, size in enumerate(sizes):
        room_id = public_room(alice, name=f"Room {i}", topic=f"topic {i}")
        for member in others[: size - 1]:
            assert member.membership(room_id, "join").code == 200
        rooms.append((size, room_id))
    rooms.sort(key=lambda r: (-r[0], r[1]))
    return [room_id for _, room_id in rooms]


def test_order_by_members_then_room_id(
    server: TestServer, users: Users, five_rooms: list[str]
) -> None:
    resp = get_rooms(server, users["alice"].token)
    assert ids(resp) == five_rooms
    assert [e["num_joined_members"] for e in resp.json["chunk"]] == [4, 3, 2, 1, 1]
    assert resp.json["total_room_count_estimate"] == 5
    assert "next_batch" not in resp.json and "prev_batch" not in resp.json


def test_pagination_forwards_and_back(
    server: TestServer, users: Users, five_rooms: list[str]
) -> None:
    token = users["alice"].token
    first = get_rooms(server, token, "?limit=2")
    assert ids(first) == five_rooms[:2]
    assert "prev_batch" not in first.json
    second = get_rooms(server, token, f"?limit=2&since={first.json['next_batch']}")
    assert ids(second) == five_rooms[2:4]
    third = get_rooms(server, token, f"?limit=2&since={second.json['next_batch']}")
    assert ids(third) == five_rooms[4:]
    assert "next_batch" not in third.json
    assert third.json["total_room_count_estimate"] == 5
    # Back from the last page, then from the middle one.
    back = get_rooms(server, token, f"?limit=2&since={third.json['prev_batch']}")
    assert ids(back) == five_rooms[2:4]
    assert back.json["next_batch"] == second.json["next_batch"]
    back = get_rooms(server, token, f"?limit=2&since={back.json['prev_batch']}")
    assert ids(back) == five_rooms[:2]
    assert "prev_batch" not in back.json
    # POST paginates the same way.
    resp = post_rooms(server, token, {"limit": 3, "since": first.json["next_batch"]})
    assert ids(resp) == five_rooms[2:5]


def test_tokens_survive_changes(
    server: TestServer, users: Users, five_rooms: list[str]
) -> None:
    alice = users["alice"]
    first = get_rooms(server, alice.token, "?limit=2")
    # Rooms appearing or going before the boundary do not shift the next page.
    big = public_room(users["bob"])
    for name in ("alice", "carol", "dave"):
        assert users[name].membership(big, "join").code == 200
    publish(alice, five_rooms[0], public=False)
    assert ids(get_rooms(server, alice.token, "?limit=1")) == [big]
    second = get_rooms(
        server, alice.token, f"?limit=2&since={first.json['next_batch']}"
    )
    assert ids(second) == five_rooms[2:4]


def test_limit_zero_and_cap(
    server: TestServer, users: Users, five_rooms: list[str]
) -> None:
    token = users["alice"].token
    assert ids(get_rooms(server, token, "?limit=0")) == five_rooms
    assert ids(post_rooms(server, token, {})) == five_rooms


def test_search(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    by_name = public_room(alice, name="The Cheese Shop")
    by_topic = public_room(alice, topic="all about CHEESE")
    by_alias = public_room(alice, room_alias_name="cheesy")
    other = public_room(alice, name="Wine", topic="red")

    def search(term: str) -> list[str]:
        body = {"filter": {"generic_search_term": term}}
        return sorted(ids(post_rooms(server, alice.token, body)))

    assert search("cheese") == sorted([by_name, by_topic])
    assert search("chee") == sorted([by_name, by_topic, by_alias])
    assert search("WINE") == [other]
    assert search("nothing") == []
    assert search("") == sorted([by_name, by_topic, by_alias, other])
    resp = post_rooms(
        server, alice.token, {"filter": {"generic_search_term": "chee"}, "limit": 2}
    )
    assert resp.json["total_room_count_estimate"] == 3
    rest = post_rooms(
        server,
        alice.token,
        {
            "filter": {"generic_search_term": "chee"},
            "since": resp.json["next_batch"],
        },
    )
    assert sorted(ids(resp) + ids(rest)) == sorted([by_name, by_topic, by_alias])


def test_room_types_filter(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    plain = public_room(alice)
    space = public_room(alice, creation_content={"type": "m.space"})
    custom = public_room(alice, creation_content={"type": "org.example.x"})

    def by_types(types: Any) -> list[str]:
        return sorted(
            ids(post_rooms(server, alice.token, {"filter": {"room_types": types}}))
        )

    assert by_types([None]) == [plain]
    assert by_types(["m.space"]) == [space]
    assert by_types([None, "m.space"]) == sorted([plain, space])
    assert by_types(None) == sorted([plain, space, custom])
    assert by_types([]) == []


def test_auth(make_server: Callable[..., TestServer]) -> None:
    server = make_server()
    room_id = public_room(server.user("alice"))
    assert_error(get_rooms(server, None), 401, "M_MISSING_TOKEN")
    assert_error(post_rooms(server, None, {}), 401, "M_MISSING_TOKEN")
    assert_error(get_rooms(server, "bogus"), 401, "M_UNKNOWN_TOKEN")
    open_server = make_server(
        {"room_directory": {"allow_public_rooms_without_auth": True}}
    )
    room_id = public_room(open_server.user("alice"))
    assert ids(get_rooms(open_server, None)) == [room_id]
    # A token that is sent is still checked, and POST always needs one.
    assert_error(get_rooms(open_server, "bogus"), 401, "M_UNKNOWN_TOKEN")
    assert_error(post_rooms(open_server, None, {}), 401, "M_MISSING_TOKEN")


def test_server_parameter(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = public_room(alice)
    assert ids(get_rooms(server, alice.token, "?server=test")) == [room_id]
    assert_error(
        get_rooms(server, alice.token, "?server=elsewhere.org"), 502, "M_UNKNOWN"
    )
    assert_error(
        get_rooms(server, alice.token, "?server=bad_name!"), 400, "M_INVALID_PARAM"
    )
    resp = alice.post(f"{URL}?server=elsewhere.org", {})
    assert_error(resp, 502, "M_UNKNOWN")


def test_networks(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = public_room(alice)
    assert ids(post_rooms(server, alice.token, {"include_all_networks": True})) == [
        room_id
    ]
    resp = post_rooms(server, alice.token, {"third_party_instance_id": "irc"})
    assert resp.json == {"chunk": [], "total_room_count_estimate": 0}


@pytest.mark.parametrize(
    "body",
    [
        {"limit": "10"},
        {"limit": True},
        {"since": 5},
        {"filter": []},
        {"filter": {"generic_search_term": 3}},
        {"filter": {"room_types": "m.space"}},
        {"filter": {"room_types": [1]}},
        {"include_all_networks": "yes"},
    ],
)
def test_bad_post_bodies(server: TestServer, users: Users, body: Any) -> None:
    assert_error(post_rooms(server, users["alice"].token, body), 400, "M_BAD_JSON")


def test_bad_parameters(server: TestServer, users: Users) -> None:
    token = users["alice"].token
    assert_error(get_rooms(server, token, "?limit=-1"), 400, "M_INVALID_PARAM")
    assert_error(get_rooms(server, token, "?limit=ten"), 400, "M_INVALID_PARAM")
    assert_error(get_rooms(server, token, "?since=garbage"), 400, "M_INVALID_PARAM")
    assert_error(post_rooms(server, token, {"since": "e30"}), 400, "M_INVALID_PARAM")
    assert_error(post_rooms(server, token, {"limit": -5}), 400, "M_INVALID_PARAM")
