"""Simplified sliding sync (MSC4186) through HTTP: lists, filters, ordering,
ranges and counts, subscriptions, connections and pos, long-poll."""

from __future__ import annotations

import json
from typing import Any

from tests.support.client import User
from tests.support.server import PendingRequest, TestServer

SS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
ALL = {"range": [0, 99], "timeline_limit": 1, "required_state": [["m.room.name", ""]]}


def ss(user: User, body: dict[str, Any], expect: int | None = 200) -> Any:
    resp = user.post(SS, body, expect=expect)
    return resp.json


def room_list(server: TestServer, user: User, names: list[str]) -> list[str]:
    """Rooms named ``names`` created by ``user``, oldest first, each with one
    message so that the last created is the most recent."""
    rooms = []
    for name in names:
        room_id = user.create_room(name=name)
        user.send(room_id, f"hello {name}")
        rooms.append(room_id)
    return rooms


def start_ss(
    server: TestServer, user: User, body: dict[str, Any], query: str
) -> PendingRequest:
    raw = json.dumps(body).encode()
    head = (
        f"POST {SS}?{query} HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Length: {len(raw)}\r\nAuthorization: Bearer {user.token}\r\n"
        "Content-Type: application/json\r\n\r\n"
    )
    return server.start_raw_request(head.encode() + raw)


def test_versions_advertises_it(server: TestServer) -> None:
    body = server.request("GET", "/_matrix/client/versions").json
    assert body["unstable_features"]["org.matrix.simplified_msc3575"] is True


def test_order_ranges_and_counts(server: TestServer) -> None:
    alice = server.user("alice")
    a, b, c = room_list(server, alice, ["A", "B", "C"])
    body = ss(alice, {"lists": {"all": ALL, "top": {**ALL, "range": [0, 1]}}})
    assert body["lists"]["all"]["count"] == 3
    assert body["lists"]["top"]["count"] == 3
    assert set(body["rooms"]) == {a, b, c}
    assert body["rooms"][a]["initial"] is True
    assert body["rooms"][a]["name"] == "A"
    stamps = {r: body["rooms"][r]["bump_stamp"] for r in (a, b, c)}
    assert stamps[c] > stamps[b] > stamps[a]
    # activity in A moves it to the top: a window of one holds A only
    alice.send(a, "bump")
    one = ss(alice, {"lists": {"top": {**ALL, "range": [0, 0]}}})
    assert set(one["rooms"]) == {a}
    second = ss(alice, {"lists": {"top": {**ALL, "range": [1, 1]}}})
    assert set(second["rooms"]) == {c}
    assert second["lists"]["top"]["count"] == 3


def test_timeline_and_required_state(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(name="Lounge", topic="talk")
    for i in range(3):
        alice.send(room_id, f"m{i}")
    config = {
        "timeline_limit": 2,
        "required_state": {"include": [{"type": "m.room.topic", "state_key": ""}]},
    }
    body = ss(alice, {"room_subscriptions": {room_id: config}})
    room = body["rooms"][room_id]
    assert [e["content"]["body"] for e in room["timeline"]] == ["m1", "m2"]
    assert room["limited"] is True
    assert [e["type"] for e in room["required_state"]] == ["m.room.topic"]
    # prev_batch works with /messages
    older = alice.messages(room_id, **{"from": room["prev_batch"]}, expect=200).json
    assert any(e.get("content", {}).get("body") == "m0" for e in older["chunk"])


def test_incremental_only_changed_rooms(server: TestServer) -> None:
    alice = server.user("alice")
    a, b = room_list(server, alice, ["A", "B"])
    first = ss(alice, {"lists": {"all": ALL}})
    quiet = ss(alice, {"lists": {"all": ALL}, "pos": first["pos"]})
    assert quiet["rooms"] == {}
    alice.send(a, "news")
    news = ss(alice, {"lists": {"all": ALL}, "pos": quiet["pos"]})
    assert set(news["rooms"]) == {a}
    room = news["rooms"][a]
    assert "initial" not in room
    assert [e["content"]["body"] for e in room["timeline"]] == ["news"]
    # an expanded config sends the room again
    wider = {**ALL, "timeline_limit": 5}
    expanded = ss(alice, {"lists": {"all": wider}, "pos": news["pos"]})
    assert set(expanded["rooms"]) == {a, b}


def test_filters(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    plain = alice.create_room(name="plain")
    enc = alice.create_room(
        name="enc",
        initial_state=[
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        ],
    )
    space = alice.create_room(name="space", creation_content={"type": "m.space"})
    alice.put_state(space, "m.space.child", {"via": ["test"]}, plain)
    dm = alice.create_room(is_direct=True, invite=[bob.user_id])
    alice.put(
        f"/user/{alice.user_id}/account_data/m.direct", {bob.user_id: [dm]}, expect=200
    )
    alice.put(f"/user/{alice.user_id}/rooms/{enc}/tags/u.work", {}, expect=200)
    invite = bob.create_room(name="inv")
    bob.invite(invite, alice.user_id)

    def rooms(filters: dict[str, Any]) -> set[str]:
        body = ss(alice, {"lists": {"l": {**ALL, "filters": filters}}})
        assert body["lists"]["l"]["count"] == len(body["rooms"])
        return set(body["rooms"])

    everything = {plain, enc, space, dm, invite}
    assert rooms({}) == everything
    assert rooms({"is_dm": True}) == {dm}
    assert rooms({"is_dm": False}) == everything - {dm}
    assert rooms({"is_encrypted": True}) == {enc}
    assert enc not in rooms({"is_encrypted": False})
    assert rooms({"is_invite": True}) == {invite}
    assert invite not in rooms({"is_invite": False})
    assert rooms({"room_types": ["m.space"]}) == {space}
    assert space not in rooms({"not_room_types": ["m.space"]})
    assert rooms({"room_types": [None], "not_room_types": ["m.space"]}) == (
        everything - {space}
    )
    assert rooms({"spaces": [space]}) == {plain}
    assert rooms({"tags": ["u.work"]}) == {enc}
    assert enc not in rooms({"not_tags": ["u.work"]})
    invited = ss(alice, {"lists": {"l": {**ALL, "filters": {"is_invite": True}}}})
    assert invited["rooms"][invite]["membership"] == "invite"
    assert "invite_state" in invited["rooms"][invite]


def test_subscription_to_a_room_the_user_may_not_see(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    secret = bob.create_room(name="secret")
    mine = alice.create_room(name="mine")
    config = {"timeline_limit": 1, "required_state": [["*", "*"]]}
    body = ss(alice, {"room_subscriptions": {secret: config, mine: config}})
    assert set(body["rooms"]) == {mine}


def test_left_rooms_only_if_sent_and_kicks_always(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    sent = bob.create_room(preset="public_chat")
    alice.join(sent)
    unsent = bob.create_room(preset="public_chat")
    alice.join(unsent)
    alice.leave(unsent)
    first = ss(alice, {"lists": {"all": ALL}})
    assert set(first["rooms"]) == {sent}
    alice.leave(sent)
    bob.send(sent, "after alice left")
    after = ss(alice, {"lists": {"all": ALL}, "pos": first["pos"]})
    assert after["rooms"][sent]["membership"] == "leave"
    # nothing after the leave is shown
    timeline = after["rooms"][sent]["timeline"]
    assert timeline[-1]["type"] == "m.room.member"
    assert timeline[-1]["content"]["membership"] == "leave"
    assert after["lists"]["all"]["count"] == 1
    # a retry (the leave not acknowledged) lists it again
    after = ss(alice, {"lists": {"all": ALL}, "pos": first["pos"]})
    assert after["lists"]["all"]["count"] == 1
    assert after["rooms"][sent]["membership"] == "leave"
    bob.send(sent, "later still")
    later = ss(alice, {"lists": {"all": ALL}, "pos": after["pos"]})
    assert sent not in later["rooms"]
    # the client has the leave: the room is out of the list (as in Synapse)
    assert later["lists"]["all"]["count"] == 0
    kicked = bob.create_room(preset="public_chat")
    alice.join(kicked)
    bob.membership(kicked, "kick", user_id=alice.user_id, expect=200)
    fresh = ss(alice, {"lists": {"all": ALL}})
    assert kicked in fresh["rooms"] and unsent not in fresh["rooms"]


def test_bump_stamp_of_a_room_not_joined_is_its_membership(
    server: TestServer,
) -> None:
    """MSC4186: for a room the user is not joined to, bump_stamp tells when
    the membership happened (and nothing that happened after it)."""
    alice = server.user("alice")
    bob = server.user("bob")
    invited = bob.create_room(name="invited")
    bob.send(invited, "before the invite")
    joined = bob.create_room(preset="public_chat", name="joined")
    alice.join(joined)
    bob.send(joined, "news")
    bob.membership(invited, "invite", user_id=alice.user_id, expect=200)
    first = ss(alice, {"lists": {"all": ALL}})
    stamps = {r: first["rooms"][r]["bump_stamp"] for r in (invited, joined)}
    # the invite came after "news", though the room's last message did not
    assert stamps[invited] > stamps[joined]
    bob.membership(joined, "kick", user_id=alice.user_id, expect=200)
    bob.send(joined, "after the kick")
    second = ss(alice, {"lists": {"all": ALL}, "pos": first["pos"]})
    kicked = second["rooms"][joined]["bump_stamp"]
    assert kicked > stamps[invited]
    # a new connection: the same stamp, not bob's later message
    bob.send(joined, "later still")
    fresh = ss(alice, {"lists": {"all": ALL}})
    assert fresh["rooms"][joined]["bump_stamp"] == kicked


def test_pos_retry_and_unknown_pos(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(name="A")
    first = ss(alice, {"lists": {"all": ALL}})
    alice.send(room_id, "one")
    second = ss(alice, {"lists": {"all": ALL}, "pos": first["pos"]})
    # a retry with the same pos gets the same news again
    retry = ss(alice, {"lists": {"all": ALL}, "pos": first["pos"]})
    assert set(retry["rooms"]) == set(second["rooms"]) == {room_id}
    # using the newer pos drops the older one
    ss(alice, {"lists": {"all": ALL}, "pos": retry["pos"]})
    gone = ss(alice, {"lists": {"all": ALL}, "pos": first["pos"]}, expect=400)
    assert gone["errcode"] == "M_UNKNOWN_POS"
    # the replaced pending pos (second) is gone too
    stale = ss(alice, {"lists": {"all": ALL}, "pos": second["pos"]}, expect=400)
    assert stale["errcode"] == "M_UNKNOWN_POS"
    # another device, or another conn_id, cannot use it
    other = server.login("alice")
    now = ss(alice, {"lists": {"all": ALL}})
    theirs = ss(other, {"lists": {"all": ALL}, "pos": now["pos"]}, expect=400)
    assert theirs["errcode"] == "M_UNKNOWN_POS"
    other_conn = ss(alice, {"conn_id": "x", "pos": now["pos"]}, expect=400)
    assert other_conn["errcode"] == "M_UNKNOWN_POS"
    bob = server.user("bob")
    assert ss(bob, {"pos": now["pos"]}, expect=400)["errcode"] == "M_UNKNOWN_POS"
    assert ss(alice, {"pos": "garbage"}, expect=400)["errcode"] == "M_UNKNOWN_POS"


def test_connection_bound_per_device(server: TestServer) -> None:
    from homeserver.services.sliding_sync.connections import MAX_PER_DEVICE

    alice = server.user("alice")
    oldest = ss(alice, {"conn_id": "c0"})
    for i in range(1, MAX_PER_DEVICE + 1):
        server.advance(1)
        ss(alice, {"conn_id": f"c{i}"})
    gone = ss(alice, {"conn_id": "c0", "pos": oldest["pos"]}, expect=400)
    assert gone["errcode"] == "M_UNKNOWN_POS"
    assert len(server.hs.sync.sliding.connections) == MAX_PER_DEVICE


def test_idle_connection_expires(server: TestServer) -> None:
    from homeserver.services.sliding_sync.connections import IDLE_MS

    alice = server.user("alice")
    first = ss(alice, {})
    server.advance(IDLE_MS / 1000 + 120)
    assert ss(alice, {"pos": first["pos"]}, expect=400)["errcode"] == "M_UNKNOWN_POS"


def test_long_poll_wakes_on_new_message(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    first = ss(bob, {"lists": {"all": ALL}})
    pending = start_ss(
        server, bob, {"lists": {"all": ALL}}, f"pos={first['pos']}&timeout=30000"
    )
    server.advance(1)
    assert not pending.done
    alice.send(room_id, "ping")
    assert pending.done
    body = pending.response().json
    assert [e["content"]["body"] for e in body["rooms"][room_id]["timeline"]] == [
        "ping"
    ]


def test_long_poll_times_out_empty(server: TestServer) -> None:
    alice = server.user("alice")
    alice.create_room()
    first = ss(alice, {"lists": {"all": ALL}})
    pending = start_ss(
        server, alice, {"lists": {"all": ALL}}, f"pos={first['pos']}&timeout=5000"
    )
    assert not pending.done
    server.advance(6)
    assert pending.done
    assert pending.response().json["rooms"] == {}


def test_bad_requests(server: TestServer) -> None:
    alice = server.user("alice")
    many = {f"l{i}": ALL for i in range(101)}
    assert ss(alice, {"lists": many}, expect=400)["errcode"] == "M_INVALID_PARAM"
    subs = {
        f"!r{i}:test": {"timeline_limit": 1, "required_state": []} for i in range(101)
    }
    assert ss(alice, {"room_subscriptions": subs}, expect=400)["errcode"] == (
        "M_INVALID_PARAM"
    )
    assert ss(alice, {"set_presence": "busy"}, expect=400)["errcode"] == (
        "M_INVALID_PARAM"
    )
    bad_state = {"l": {**ALL, "required_state": "x"}}
    assert ss(alice, {"lists": bad_state}, expect=400)["errcode"] == "M_BAD_JSON"
    bad_range = {"l": {**ALL, "range": [5, 1]}}
    assert ss(alice, {"lists": bad_range}, expect=400)["errcode"] == "M_INVALID_PARAM"
    resp = server.request("POST", SS, {})
    assert resp.code == 401
    # the v4 path and the query set_presence are taken too
    v4 = alice.post("/_matrix/client/v4/sync?set_presence=offline", {}, expect=200)
    assert "pos" in v4.json


def test_a_deleted_device_loses_its_connections(server: TestServer) -> None:
    alice = server.user("alice")
    other = server.login("alice")
    ss(other, {"conn_id": "a"})
    ss(alice, {})
    assert len(server.hs.sync.sliding.connections) == 2
    other.post("/logout", {}, expect=200)
    assert len(server.hs.sync.sliding.connections) == 1


def test_a_long_lived_connection_keeps_one_entry_per_room(server: TestServer) -> None:
    alice = server.user("alice")
    rooms = room_list(server, alice, ["A", "B", "C"])
    pos = ss(alice, {"lists": {"all": ALL}})["pos"]
    for i in range(30):
        alice.send(rooms[i % 3], f"m{i}")
        body = ss(alice, {"lists": {"all": ALL}, "pos": pos})
        assert set(body["rooms"]) == {rooms[i % 3]}
        pos = body["pos"]
    ss(alice, {"lists": {"all": ALL}, "pos": pos})
    [conn] = server.hs.sync.sliding.connections._by_device[
        (alice.user_id, alice.device_id or "")
    ].values()
    assert set(conn.rooms) == set(rooms)
    assert conn.pending is not None and not conn.pending.rooms


def test_cors_preflight(server: TestServer) -> None:
    resp = server.request(
        "OPTIONS", SS, headers={"Access-Control-Request-Method": "POST"}
    )
    assert resp.code in (200, 204)
    assert resp.header("Access-Control-Allow-Origin") == "*"


def test_banned_without_joining_is_not_listed(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    never = bob.create_room(preset="public_chat")
    bob.membership(never, "ban", user_id=alice.user_id, expect=200)
    was_in = bob.create_room(preset="public_chat")
    alice.join(was_in)
    bob.membership(was_in, "ban", user_id=alice.user_id, expect=200)
    body = ss(alice, {"lists": {"all": ALL}})
    assert set(body["rooms"]) == {was_in}
    assert body["rooms"][was_in]["membership"] == "ban"


def test_long_poll_wakes_on_invite(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    first = ss(bob, {"lists": {"all": ALL}})
    pending = start_ss(
        server, bob, {"lists": {"all": ALL}}, f"pos={first['pos']}&timeout=30000"
    )
    server.advance(1)
    assert not pending.done
    room_id = alice.create_room(name="party")
    alice.invite(room_id, bob.user_id)
    assert pending.done
    body = pending.response().json
    assert body["rooms"][room_id]["membership"] == "invite"
    assert body["lists"]["all"]["count"] == 1
