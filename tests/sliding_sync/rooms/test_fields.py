"""The sliding-sync room builder through HTTP: each field of a room's entry
on its first sending and on later, incremental responses."""

from __future__ import annotations

from typing import Any

from tests.sliding_sync.core.test_sliding_sync import ss
from tests.support.client import User
from tests.support.server import TestServer


def sub(room_id: str, required_state: Any, timeline_limit: int = 5) -> dict[str, Any]:
    """A request subscribing to one room."""
    config = {"timeline_limit": timeline_limit, "required_state": required_state}
    return {"room_subscriptions": {room_id: config}}


def bodies(room: dict[str, Any]) -> list[str]:
    return [e["content"].get("body") for e in room.get("timeline", [])]


def state_keys(room: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["type"], e["state_key"]) for e in room.get("required_state", [])}


def set_profile(user: User, name: str, avatar: str) -> None:
    user.put(f"/profile/{user.user_id}/displayname", {"displayname": name}, expect=200)
    user.put(f"/profile/{user.user_id}/avatar_url", {"avatar_url": avatar}, expect=200)


def test_first_sending_of_a_named_room(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    room_id = alice.create_room(name="Lounge", topic="talk", preset="public_chat")
    alice.put_state(room_id, "m.room.avatar", {"url": "mxc://test/lounge"})
    bob.join(room_id)
    alice.invite(room_id, carol.user_id)
    for i in range(3):
        alice.send(room_id, f"m{i}")
    body = ss(alice, sub(room_id, [["m.room.topic", ""]], timeline_limit=2))
    room = body["rooms"][room_id]
    assert room["initial"] is True
    assert room["name"] == "Lounge"
    assert room["avatar"] == "mxc://test/lounge"
    assert "heroes" not in room  # a named room needs none
    assert room["joined_count"] == 2
    assert room["invited_count"] == 1
    assert state_keys(room) == {("m.room.topic", "")}
    assert bodies(room) == ["m1", "m2"]
    assert room["limited"] is True
    assert room["num_live"] == 0
    assert room["notification_count"] == 0 and room["highlight_count"] == 0
    assert "is_dm" not in room and "expanded_timeline" not in room
    older = alice.messages(room_id, **{"from": room["prev_batch"]}, expect=200).json
    assert [e["content"].get("body") for e in older["chunk"]][:1] == ["m0"]


def test_heroes_of_an_unnamed_room(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    set_profile(bob, "Bob B", "mxc://test/bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    first = ss(alice, sub(room_id, [], timeline_limit=1))
    room = first["rooms"][room_id]
    assert "name" not in room
    assert room["heroes"] == [
        {"user_id": bob.user_id, "displayname": "Bob B", "avatar_url": "mxc://test/bob"}
    ]
    # a join changes heroes and counts: both come again
    carol.join(room_id)
    second = ss(alice, {**sub(room_id, [], 1), "pos": first["pos"]})
    room = second["rooms"][room_id]
    assert "initial" not in room
    assert [h["user_id"] for h in room["heroes"]] == [bob.user_id, carol.user_id]
    assert room["joined_count"] == 3
    # a message alone brings neither
    bob.send(room_id, "hi")
    third = ss(alice, {**sub(room_id, [], 1), "pos": second["pos"]})
    room = third["rooms"][room_id]
    assert bodies(room) == ["hi"]
    assert not {"heroes", "joined_count", "invited_count", "name"} & room.keys()
    # once named, the name comes and heroes no more
    alice.put_state(room_id, "m.room.name", {"name": "Trio"})
    fourth = ss(alice, {**sub(room_id, [], 1), "pos": third["pos"]})
    room = fourth["rooms"][room_id]
    assert room["name"] == "Trio"
    assert "heroes" not in room
    # a named room's membership change: counts, still no heroes, no name
    server.user("dave").join(room_id)
    fifth = ss(alice, {**sub(room_id, [], 1), "pos": fourth["pos"]})
    room = fifth["rooms"][room_id]
    assert room["joined_count"] == 4
    assert not {"heroes", "name"} & room.keys()


def test_incremental_state_is_only_what_changed(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(name="Old", topic="first", preset="public_chat")
    request = sub(room_id, [["*", "*"]], timeline_limit=3)
    first = ss(alice, request)
    room = first["rooms"][room_id]
    assert {("m.room.create", ""), ("m.room.topic", ""), ("m.room.name", "")} <= (
        state_keys(room)
    )
    alice.put_state(room_id, "m.room.topic", {"topic": "second"})
    second = ss(alice, {**request, "pos": first["pos"]})
    room = second["rooms"][room_id]
    assert "initial" not in room
    [topic] = room["required_state"]
    assert topic["content"] == {"topic": "second"}
    assert "name" not in room  # unchanged
    alice.send(room_id, "just talk")
    third = ss(alice, {**request, "pos": second["pos"]})
    assert "required_state" not in third["rooms"][room_id]
    # a removed name: null
    alice.put_state(room_id, "m.room.name", {})
    fourth = ss(alice, {**request, "pos": third["pos"]})
    assert fourth["rooms"][room_id]["name"] is None


def test_me_and_exclude(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(name="R", preset="public_chat")
    bob.join(room_id)
    me = ss(alice, sub(room_id, [["m.room.member", "$ME"]]))
    assert state_keys(me["rooms"][room_id]) == {("m.room.member", alice.user_id)}
    merged = {"include": [{}], "exclude": [{"type": "m.room.member"}]}
    body = ss(alice, sub(room_id, merged))
    keys = state_keys(body["rooms"][room_id])
    assert ("m.room.name", "") in keys
    assert not {k for k in keys if k[0] == "m.room.member"}
    only_keys = {"include": [{"state_key": bob.user_id}]}
    bobs = ss(alice, sub(room_id, only_keys))
    assert state_keys(bobs["rooms"][room_id]) == {("m.room.member", bob.user_id)}


def test_num_live(server: TestServer) -> None:
    alice = server.user("alice")
    a = alice.create_room(name="A")
    b = alice.create_room(name="B")
    alice.send(a, "old")
    lists = {"top": {"range": [0, 0], "timeline_limit": 3, "required_state": []}}
    first = ss(alice, {"lists": lists})
    assert set(first["rooms"]) == {a}
    assert first["rooms"][a]["num_live"] == 0
    alice.send(a, "new 1")
    alice.send(a, "new 2")
    second = ss(alice, {"lists": lists, "pos": first["pos"]})
    room = second["rooms"][a]
    assert bodies(room) == ["new 1", "new 2"] and room["num_live"] == 2
    # B moves into the window with one live event and older ones
    alice.send(b, "b news")
    third = ss(alice, {"lists": lists, "pos": second["pos"]})
    room = third["rooms"][b]
    assert room["initial"] is True
    assert len(room["timeline"]) == 3 and room["num_live"] == 1


def test_is_dm(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    dm = alice.create_room(is_direct=True, invite=[bob.user_id])
    plain = alice.create_room(name="plain")
    alice.put(
        f"/user/{alice.user_id}/account_data/m.direct", {bob.user_id: [dm]}, expect=200
    )
    lists = {"all": {"range": [0, 9], "timeline_limit": 1, "required_state": []}}
    first = ss(alice, {"lists": lists})
    assert first["rooms"][dm]["is_dm"] is True
    assert "is_dm" not in first["rooms"][plain]
    # no longer a DM: told so
    alice.put(f"/user/{alice.user_id}/account_data/m.direct", {}, expect=200)
    second = ss(alice, {"lists": lists, "pos": first["pos"]})
    assert second["rooms"][dm]["is_dm"] is False
    assert plain not in second["rooms"]


def test_history_before_joining_follows_history_visibility(
    server: TestServer,
) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = bob.create_room(name="Hush", preset="public_chat")
    bob.put_state(
        room_id, "m.room.history_visibility", {"history_visibility": "joined"}
    )
    bob.send(room_id, "before alice")
    alice.join(room_id)
    bob.send(room_id, "after alice")
    lists = {"all": {"range": [0, 9], "timeline_limit": 10, "required_state": []}}
    room = ss(alice, {"lists": lists})["rooms"][room_id]
    assert "before alice" not in bodies(room)
    assert bodies(room)[-1] == "after alice"
    assert room["limited"] is True
