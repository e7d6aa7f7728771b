"""Simplified sliding sync (MSC4186) through HTTP: what ``set_presence`` does,
connections of one device kept apart by ``conn_id``, the recency order's
bump types, and a ``pos`` taken by /messages and /relations."""

from __future__ import annotations

from tests.sliding_sync.core.test_sliding_sync import ALL, room_list, ss
from tests.support.client import User
from tests.support.server import TestServer

# A window of the most recent room, on a connection of its own.
TOP = {"conn_id": "top", "lists": {"top": {**ALL, "range": [0, 0]}}}


def presence(user: User) -> str:
    status = user.get(f"/presence/{user.user_id}/status", expect=200).json
    return str(status["presence"])


def test_set_presence(server: TestServer) -> None:
    """MSC4186 ``set_presence``: as in /v3/sync, default online, ``offline``
    leaves presence alone, ``unavailable`` marks the user idle."""
    server.advance(1000)  # a last_active_ts of 0 means "never"
    alice = server.user("alice")
    bob = server.user("bob")
    ss(alice, {"set_presence": "offline"})
    assert presence(alice) == "offline"
    ss(alice, {"set_presence": "unavailable"})
    assert presence(alice) == "unavailable"
    ss(bob, {})
    assert presence(bob) == "online"
    # as a query parameter, as Synapse and matrix-js-sdk send it
    carol = server.user("carol")
    carol.post(
        "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
        "?set_presence=unavailable",
        {},
        expect=200,
    )
    assert presence(carol) == "unavailable"


def test_connections_of_one_device_are_apart(server: TestServer) -> None:
    """Each ``conn_id`` of a device has its own state: what one connection
    was sent, acknowledged or retried does not touch the other."""
    alice = server.user("alice")
    a, b = room_list(server, alice, ["A", "B"])
    body = {"lists": {"all": ALL}}
    one = ss(alice, {**body, "conn_id": "one"})
    two = ss(alice, {**body, "conn_id": "two"})
    assert set(one["rooms"]) == set(two["rooms"]) == {a, b}
    alice.send(a, "news")
    one = ss(alice, {**body, "conn_id": "one", "pos": one["pos"]})
    assert set(one["rooms"]) == {a}
    one = ss(alice, {**body, "conn_id": "one", "pos": one["pos"]})
    assert one["rooms"] == {}
    # "two" never saw the news: it still gets it, once
    two = ss(alice, {**body, "conn_id": "two", "pos": two["pos"]})
    assert [e["content"]["body"] for e in two["rooms"][a]["timeline"]] == ["news"]
    # a new connection under one name does not reset the other
    fresh = ss(alice, {**body, "conn_id": "one"})
    assert fresh["rooms"][a]["initial"] is True
    two = ss(alice, {**body, "conn_id": "two", "pos": two["pos"]})
    assert two["rooms"] == {}


def test_only_bump_types_move_a_room(server: TestServer) -> None:
    """The recency order and ``bump_stamp`` count Synapse's bump types
    (messages, encrypted, stickers, ...), not state changes or reactions."""
    alice = server.user("alice")
    older, newer = room_list(server, alice, ["older", "newer"])
    first = ss(alice, {"lists": {"all": ALL}})
    stamp = first["rooms"][older]["bump_stamp"]
    message = alice.send(older, "a message bumps")
    bumped = ss(alice, TOP)
    assert set(bumped["rooms"]) == {older}
    stamp = bumped["rooms"][older]["bump_stamp"]
    # newer gets a message; then older gets only non-bump events
    alice.send(newer, "newer again")
    alice.put_state(older, "m.room.topic", {"topic": "not activity"})
    reaction = {"rel_type": "m.annotation", "event_id": message, "key": "+1"}
    alice.send_event(older, {"m.relates_to": reaction}, "m.reaction", expect=200)
    top = ss(alice, TOP)
    assert set(top["rooms"]) == {newer}
    second = ss(alice, {"lists": {"all": ALL}, "pos": first["pos"]})
    assert second["rooms"][older]["bump_stamp"] == stamp
    assert second["rooms"][newer]["bump_stamp"] > stamp
    # a sticker is activity
    alice.send_event(older, {"body": "s", "url": "mxc://t/s", "info": {}}, "m.sticker")
    top = ss(alice, TOP)
    assert set(top["rooms"]) == {older}


def test_pos_pages_back_in_messages_and_relations(server: TestServer) -> None:
    """Merged MSC4186: a ``pos`` can be used in /messages and /relations as a
    /sync ``next_batch`` can."""
    alice = server.user("alice")
    room_id = alice.create_room(name="R")
    root = alice.send(room_id, "root")
    alice.send(
        room_id, "reply", **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}}
    )
    pos = ss(alice, {"lists": {"all": ALL}})["pos"]
    alice.send(room_id, "after the pos")
    back = alice.messages(room_id, **{"from": pos, "limit": 2}, expect=200).json
    assert [e["content"].get("body") for e in back["chunk"]] == ["reply", "root"]
    ahead = alice.messages(room_id, dir="f", **{"from": pos}, expect=200).json
    assert [e["content"].get("body") for e in ahead["chunk"]] == ["after the pos"]
    path = f"/_matrix/client/v1/rooms/{room_id}/relations/{root}"
    related = alice.get(path, expect=200, **{"from": pos}).json
    assert [e["content"]["body"] for e in related["chunk"]] == ["reply"]
    bad = alice.messages(room_id, **{"from": "1/x"}, expect=400).json
    assert bad["errcode"] == "M_INVALID_PARAM"


def remembered(server: TestServer, user: User, conn_id: str = "") -> set[str]:
    """The rooms a connection of ``user``'s device remembers (acknowledged)."""
    conns = server.hs.sync.sliding.connections._by_device
    return set(conns[(user.user_id, user.device_id or "")][conn_id].rooms)


def test_connection_forgets_rooms_left_behind(server: TestServer) -> None:
    """A connection's state is pruned: once the client has the leave of a
    room the user left the connection stops
    remembering it, so a long-lived connection of a user who joins and
    leaves many rooms holds one entry per room the user is still in."""
    alice = server.user("alice")
    bob = server.user("bob")
    [mine] = room_list(server, alice, ["mine"])
    body = {"lists": {"all": ALL}}
    pos = ss(alice, body)["pos"]
    for i in range(20):
        room_id = bob.create_room(preset="public_chat", name=f"visit {i}")
        alice.join(room_id)
        joined = ss(alice, {**body, "pos": pos})
        assert joined["rooms"][room_id]["initial"] is True
        alice.leave(room_id)
        left = ss(alice, {**body, "pos": joined["pos"]})
        assert left["rooms"][room_id]["membership"] == "leave"
        pos = left["pos"]
    pos = ss(alice, {**body, "pos": pos})["pos"]  # acknowledges the last leave
    ss(alice, {**body, "pos": pos})  # acknowledges the pruning response
    assert remembered(server, alice) == {mine}
    # a subscription keeps a left room remembered; it is not sent again
    kept = bob.create_room(preset="public_chat")
    alice.join(kept)
    config = {"timeline_limit": 1, "required_state": []}
    sub = {**body, "room_subscriptions": {kept: config}}
    pos = ss(alice, sub)["pos"]
    alice.leave(kept)
    for _ in range(3):
        answer = ss(alice, {**sub, "pos": pos})
        pos = answer["pos"]
    assert kept not in answer["rooms"]
    assert remembered(server, alice) == {mine, kept}


def test_a_quiet_request_reuses_the_order(server: TestServer) -> None:
    """The room order is kept per user while nothing in the listed rooms
    moved (a quiet request does not sort every room again), and made afresh
    when a room gets news or the user's memberships change."""
    alice = server.user("alice")
    bob = server.user("bob")
    a, b = room_list(server, alice, ["A", "B"])
    room_list_service = server.hs.sync.sliding.room_list
    body = {"lists": {"all": ALL}}
    pos = ss(alice, body)["pos"]
    kept = room_list_service._orders[alice.user_id].ordered
    assert kept == [b, a]
    pos = ss(alice, {**body, "pos": pos})["pos"]
    assert room_list_service._orders[alice.user_id].ordered is kept
    alice.send(a, "news")
    pos = ss(alice, {**body, "pos": pos})["pos"]
    assert room_list_service._orders[alice.user_id].ordered == [a, b]
    invite = bob.create_room(name="C")
    bob.invite(invite, alice.user_id)
    answer = ss(alice, {**body, "pos": pos})
    assert answer["lists"]["all"]["count"] == 3
    assert room_list_service._orders[alice.user_id].ordered == [invite, a, b]


def test_each_room_names_its_lists(server: TestServer) -> None:
    """Merged MSC4186 (changelog 5): a room entry's ``lists`` names the lists
    the room is in, and is left out for a room sent only by subscription."""
    alice = server.user("alice")
    older, newer = room_list(server, alice, ["older", "newer"])
    space = alice.create_room(name="space", creation_content={"type": "m.space"})
    lists = {
        "all": {**ALL, "filters": {"not_room_types": ["m.space"]}},
        "top": {**ALL, "range": [0, 0], "filters": {"not_room_types": ["m.space"]}},
    }
    config = {"timeline_limit": 1, "required_state": []}
    body = {"lists": lists, "room_subscriptions": {space: config}}
    first = ss(alice, body)
    assert first["rooms"][newer]["lists"] == ["all", "top"]
    assert first["rooms"][older]["lists"] == ["all"]
    assert "lists" not in first["rooms"][space]
    alice.send(older, "news")
    second = ss(alice, {**body, "pos": first["pos"]})
    assert set(second["rooms"]) == {older}
    assert second["rooms"][older]["lists"] == ["all", "top"]


def test_a_forgotten_room_leaves_the_lists_at_once(server: TestServer) -> None:
    """A room the user was kicked from is listed until the user forgets it;
    then it is gone from the lists and from the connection's memory at once
    (no membership moves to say so: /forget signals it)."""
    alice = server.user("alice")
    bob = server.user("bob")
    [mine] = room_list(server, alice, ["mine"])
    kicked = bob.create_room(preset="public_chat")
    alice.join(kicked)
    body = {"lists": {"all": ALL}}
    pos = ss(alice, body)["pos"]
    bob.membership(kicked, "kick", user_id=alice.user_id, expect=200)
    told = ss(alice, {**body, "pos": pos})
    assert told["rooms"][kicked]["membership"] == "leave"
    assert told["lists"]["all"]["count"] == 2
    alice.post(f"/rooms/{kicked}/forget", {}, expect=200)
    after = ss(alice, {**body, "pos": told["pos"]})
    assert after["lists"]["all"]["count"] == 1
    ss(alice, {**body, "pos": after["pos"]})
    assert remembered(server, alice) == {mine}
    fresh = ss(alice, {**body, "conn_id": "new"})
    assert set(fresh["rooms"]) == {mine}
