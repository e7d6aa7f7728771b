"""POST /user_directory/search: who may be found, ranking, limits, and how
the directory follows profiles, memberships and room state."""

from __future__ import annotations

from typing import Any

from tests.support import User
from tests.support.server import TestServer

SEARCH = "/user_directory/search"


def _search(user: User, term: str, **body: Any) -> dict[str, Any]:
    return user.post(SEARCH, {"search_term": term, **body}, expect=200).json


def _ids(user: User, term: str, **body: Any) -> list[str]:
    return [r["user_id"] for r in _search(user, term, **body)["results"]]


def test_finds_users_sharing_a_room_and_not_strangers(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    server.user("bobby")  # shares nothing with alice
    room_id = alice.create_room(preset="private_chat", invite=[bob.user_id])
    assert _ids(alice, "bob") == []  # an invite is not sharing a room
    bob.join(room_id)
    body = _search(alice, "bob")
    assert body == {
        "limited": False,
        "results": [
            {"user_id": bob.user_id, "display_name": "bob", "avatar_url": None}
        ],
    }
    # Leaving the room takes bob out of alice's results again.
    bob.leave(room_id)
    assert _ids(alice, "bob") == []


def test_finds_members_of_public_rooms(server: TestServer) -> None:
    alice = server.user("alice")
    carol = server.user("carol")
    public = carol.create_room(preset="public_chat")
    assert _ids(alice, "carol") == [carol.user_id]  # carol alone in a public room
    carol.put_state(public, "m.room.join_rules", {"join_rule": "invite"})
    assert _ids(alice, "carol") == []
    carol.put_state(
        public, "m.room.history_visibility", {"history_visibility": "world_readable"}
    )
    assert _ids(alice, "carol") == [carol.user_id]


def test_search_all_users_finds_every_local_user(make_server: Any) -> None:
    server = make_server({"user_directory": {"search_all_users": True}})
    alice = server.user("alice")
    dave = server.user("dave")
    assert _ids(alice, "dave") == [dave.user_id]
    # Deactivated users are never found.
    server.get_success(server.hs.accounts.accounts.deactivate(dave.user_id))
    assert _ids(alice, "dave") == []


def test_disabled_directory_finds_nobody(make_server: Any) -> None:
    server = make_server({"user_directory": {"enabled": False}})
    alice = server.user("alice")
    server.user("bob").create_room(preset="public_chat")
    assert _search(alice, "bob") == {"limited": False, "results": []}


def test_matches_word_prefixes_of_id_and_display_name(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    bob.create_room(preset="public_chat")
    bob.put(f"/profile/{bob.user_id}/displayname", {"displayname": "Robert Smith"})
    assert _ids(alice, "smi") == [bob.user_id]
    assert _ids(alice, "ROB") == [bob.user_id]
    assert _ids(alice, "robert smith") == [bob.user_id]
    assert _ids(alice, "mith") == []  # inside a word: no match
    assert _ids(alice, "bob") == [bob.user_id]  # the user ID still matches
    assert _ids(alice, "%") == []
    assert _ids(alice, "") == []


def test_profile_changes_are_searchable_at_once(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    bob.create_room(preset="public_chat")
    bob.put(f"/profile/{bob.user_id}/displayname", {"displayname": "Zebedee"})
    bob.put(f"/profile/{bob.user_id}/avatar_url", {"avatar_url": "mxc://test/z"})
    assert _search(alice, "zeb")["results"] == [
        {
            "user_id": bob.user_id,
            "display_name": "Zebedee",
            "avatar_url": "mxc://test/z",
        }
    ]


def test_ranking_and_limited(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(preset="public_chat")
    users = {name: server.user(name) for name in ("sam", "samantha", "sammy", "bosam")}
    for user in users.values():
        user.join(room_id)
    users["bosam"].put(
        f"/profile/{users['bosam'].user_id}/displayname", {"displayname": "Sam"}
    )
    users["sammy"].put(
        f"/profile/{users['sammy'].user_id}/avatar_url", {"avatar_url": "mxc://t/s"}
    )
    found = _ids(alice, "sam")
    # Exact matches first (of the display name or the localpart), then
    # prefixes, those with an avatar before those without.
    assert found[:2] == [users["bosam"].user_id, users["sam"].user_id]
    assert found[2] == users["sammy"].user_id
    assert set(found) == {u.user_id for u in users.values()}
    body = _search(alice, "sam", limit=2)
    assert body["limited"] is True and len(body["results"]) == 2
    assert _search(alice, "sam", limit=4)["limited"] is False
    assert _search(alice, "sam", limit=500)["limited"] is False
    assert _search(alice, "sam", limit=-1) == {"limited": True, "results": []}


def test_prefer_local_users(make_server: Any) -> None:
    server = make_server({"user_directory": {"prefer_local_users": True}})
    alice = server.user("alice")
    assert _ids(alice, "alice") == []  # not in any room yet
    alice.create_room(preset="public_chat")
    assert _ids(alice, "alice") == [alice.user_id]


def test_bad_requests(server: TestServer) -> None:
    alice = server.user("alice")
    resp = alice.post(SEARCH, {"limit": 3}, expect=400)
    assert resp.json["errcode"] == "M_MISSING_PARAM"
    resp = alice.post(SEARCH, {"search_term": 3}, expect=400)
    assert resp.json["errcode"] == "M_BAD_JSON"
    resp = alice.post(SEARCH, {"search_term": "x", "limit": "3"}, expect=400)
    assert resp.json["errcode"] == "M_BAD_JSON"
    resp = server.request("POST", f"/_matrix/client/v3{SEARCH}", {"search_term": "x"})
    assert resp.code == 401
    # The legacy r0 path is served too.
    resp = server.request(
        "POST", f"/_matrix/client/r0{SEARCH}", {"search_term": "x"}, token=alice.token
    )
    assert resp.code == 200
