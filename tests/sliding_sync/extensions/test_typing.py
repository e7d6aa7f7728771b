"""The typing extension (MSC4508): current typists when a room enters scope,
changes after, only joined rooms, wake-ups."""

from __future__ import annotations

from typing import Any

from tests.sliding_sync.core.test_sliding_sync import ALL
from tests.sliding_sync.extensions.kit import ON, Conn, room_config, share_room
from tests.support.client import User
from tests.support.server import TestServer


def typing(user: User, room_id: str, on: bool = True) -> None:
    body: dict[str, Any] = {"typing": on}
    if on:
        body["timeout"] = 30_000
    user.put(f"/rooms/{room_id}/typing/{user.user_id}", body, expect=200)


def typists(section: dict[str, Any]) -> dict[str, list[str]]:
    out = {}
    for room_id, event in section["rooms"].items():
        assert event["type"] == "m.typing"
        out[room_id] = event["content"]["user_ids"]
    return out


def test_initial_and_incremental(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    a = share_room(alice, bob)
    b = share_room(alice, bob)
    typing(bob, a)
    conn = Conn(alice, {"typing": ON})
    assert typists(conn.sync()["typing"]) == {a: [bob.user_id]}  # b: nobody
    assert conn.sync()["typing"] == {"rooms": {}}
    typing(bob, b)
    assert typists(conn.sync()["typing"]) == {b: [bob.user_id]}
    typing(bob, a, False)
    assert typists(conn.sync()["typing"]) == {a: []}


def test_a_room_entering_scope_gets_its_typists(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    a = share_room(alice, bob)
    b = share_room(alice, bob)
    conn = Conn(alice, {"typing": {**ON, "lists": []}}, lists={"all": ALL})

    def watch(room_id: str) -> dict[str, list[str]]:
        subs = {room_id: room_config()}
        return typists(conn.sync(room_subscriptions=subs)["typing"])

    assert watch(a) == {}
    typing(bob, b)  # out of scope: not sent
    assert watch(a) == {}
    assert watch(b) == {b: [bob.user_id]}  # enters scope: current typists
    assert watch(b) == {}


def test_only_joined_rooms(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    room_id = share_room(bob, carol)
    typing(carol, room_id)
    bob.invite(room_id, alice.user_id)
    conn = Conn(alice, {"typing": ON})
    assert conn.sync()["typing"] == {"rooms": {}}
    alice.join(room_id)
    assert typists(conn.sync()["typing"]) == {room_id: [carol.user_id]}


def test_long_poll_wakes_on_typing(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = share_room(alice, bob)
    conn = Conn(alice, {"typing": ON})
    conn.sync()
    pending = conn.start(server)
    server.advance(1)
    assert not pending.done
    typing(bob, room_id)
    assert pending.done
    assert typists(conn.finish(pending)["typing"]) == {room_id: [bob.user_id]}
    assert conn.last["rooms"] == {}  # an extension-only response
