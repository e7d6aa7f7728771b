"""The account_data extension: global and per-room data, incremental,
scoping by lists/rooms, catching up a room back in scope."""

from __future__ import annotations

from typing import Any

from tests.sliding_sync.core.test_sliding_sync import ALL
from tests.sliding_sync.extensions.kit import ON, Conn, room_config
from tests.support.client import User
from tests.support.server import TestServer


def set_global(user: User, data_type: str, content: dict[str, Any]) -> None:
    user.put(f"/user/{user.user_id}/account_data/{data_type}", content, expect=200)


def set_room(user: User, room_id: str, data_type: str, content: Any) -> None:
    path = f"/user/{user.user_id}/rooms/{room_id}/account_data/{data_type}"
    user.put(path, content, expect=200)


def by_type(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["type"]: e["content"] for e in events}


def test_initial_and_incremental(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    set_global(alice, "org.example.a", {"v": 1})
    set_room(alice, room_id, "org.example.r", {"v": 1})
    alice.put(f"/user/{alice.user_id}/rooms/{room_id}/tags/u.work", {}, expect=200)
    conn = Conn(alice, {"account_data": ON})
    first = conn.sync()["account_data"]
    assert by_type(first["global"])["org.example.a"] == {"v": 1}
    room = by_type(first["rooms"][room_id])
    assert room["org.example.r"] == {"v": 1}
    assert room["m.tag"] == {"tags": {"u.work": {}}}
    # nothing changed: an empty section
    assert conn.sync()["account_data"] == {"global": [], "rooms": {}}
    set_global(alice, "org.example.b", {"v": 2})
    set_room(alice, room_id, "org.example.r", {"v": 2})
    second = conn.sync()["account_data"]
    assert second["global"] == [{"type": "org.example.b", "content": {"v": 2}}]
    assert second["rooms"] == {
        room_id: [{"type": "org.example.r", "content": {"v": 2}}]
    }


def test_scoping_by_lists_and_rooms(server: TestServer) -> None:
    alice = server.user("alice")
    listed = alice.create_room()
    subscribed = alice.create_room()
    for room_id in (listed, subscribed):
        set_room(alice, room_id, "org.example.r", {"room": room_id})
    lists = {"dms": {**ALL, "filters": {"is_dm": True}}, "all": ALL}
    subs = {subscribed: room_config()}

    def rooms(config: dict[str, Any]) -> set[str]:
        conn = Conn(alice, {"account_data": config}, lists=lists, subscriptions=subs)
        return set(conn.sync()["account_data"]["rooms"])

    assert rooms(ON) == {listed, subscribed}
    assert rooms({**ON, "lists": []}) == {subscribed}
    assert rooms({**ON, "rooms": []}) == {listed, subscribed}  # both in "all"
    assert rooms({**ON, "lists": ["dms"], "rooms": []}) == set()
    assert rooms({**ON, "lists": ["nope"], "rooms": [subscribed, "!x:y"]}) == {
        subscribed
    }
    # the deployed wildcard
    assert rooms({**ON, "lists": ["*"], "rooms": []}) == {listed, subscribed}


def test_a_room_back_in_scope_gets_what_it_missed(server: TestServer) -> None:
    alice = server.user("alice")
    a = alice.create_room()
    b = alice.create_room()
    set_room(alice, a, "org.example.r", {"v": 0})
    set_room(alice, b, "org.example.r", {"v": 0})
    conn = Conn(alice, {"account_data": {**ON, "lists": []}})

    def watch(room_id: str) -> dict[str, Any]:
        subs = {room_id: room_config()}
        return dict(conn.sync(room_subscriptions=subs)["account_data"]["rooms"])

    assert set(watch(a)) == {a}
    assert set(watch(b)) == {b}  # a leaves scope, b comes in
    set_room(alice, a, "org.example.r", {"v": 1})
    set_room(alice, a, "org.example.other", {"w": 1})
    assert watch(b) == {}  # a changed out of scope: not sent
    back = watch(a)
    assert by_type(back[a]) == {
        "org.example.r": {"v": 1},
        "org.example.other": {"w": 1},
    }
    assert watch(a) == {}


def test_a_newly_enabled_extension_gets_everything(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    set_global(alice, "org.example.a", {"v": 1})
    set_room(alice, room_id, "org.example.r", {"v": 1})
    conn = Conn(alice, {})
    assert conn.sync() == {}
    section = conn.sync(extensions={"account_data": ON})["account_data"]
    assert by_type(section["global"])["org.example.a"] == {"v": 1}
    assert by_type(section["rooms"][room_id]) == {"org.example.r": {"v": 1}}


def test_long_poll_wakes_on_account_data(server: TestServer) -> None:
    alice = server.user("alice")
    conn = Conn(alice, {"account_data": ON})
    conn.sync()
    pending = conn.start(server)
    server.advance(1)
    assert not pending.done
    set_global(alice, "org.example.late", {"v": 1})
    assert pending.done
    assert conn.finish(pending)["account_data"]["global"] == [
        {"type": "org.example.late", "content": {"v": 1}}
    ]
