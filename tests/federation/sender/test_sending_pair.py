"""Two real servers over loopback federation: events and EDUs sent by each
server's federation sender reach the other's users, and a server that was
down catches up with nothing lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.federation.joined_pair import (
    SharedRoom,
    send_message,
    shared_room,
)
from tests.federation.pair import Federation, FederationPair, LoopbackTransport
from tests.support import bodies, timeline
from tests.support.server import FakeResponse, TestServer


def _ephemeral(body: Any, room_id: str, event_type: str) -> list[Any]:
    room = body["rooms"]["join"].get(room_id, {})
    return [
        e["content"]
        for e in room.get("ephemeral", {}).get("events", [])
        if e["type"] == event_type
    ]


def _room(pair: FederationPair) -> SharedRoom:
    room = shared_room(pair, pair.a, pair.b)
    pair.pump(0)
    return room


def test_messages_cross_both_ways(pair: FederationPair) -> None:
    room = _room(pair)
    since_b = room.joiner.sync(timeout=0)["next_batch"]
    since_a = room.creator.sync(timeout=0)["next_batch"]
    send_message(room.creator, room.room_id, "from a")
    pair.pump(0)
    assert bodies(timeline(room.joiner.sync(since_b, timeout=0), room.room_id)) == [
        "from a"
    ]
    send_message(room.joiner, room.room_id, "from b")
    pair.pump(0)
    assert bodies(timeline(room.creator.sync(since_a, timeout=0), room.room_id)) == [
        "from a",
        "from b",
    ]


def test_down_server_catches_up_in_order(pair: FederationPair) -> None:
    b = pair.b
    room = _room(pair)
    since_b = room.joiner.sync(timeout=0)["next_batch"]
    pair.set_reachable("b.test", False)
    sent = [send_message(room.creator, room.room_id, f"m{i}") for i in range(60)]
    pair.pump(1)
    assert b.get_success(b.hs.core.events.get_events(sent)) == {}
    pair.set_reachable("b.test", True)
    pair.pump(10)
    # Every missed event arrived through the transaction queue, in order.
    got = b.get_success(b.hs.core.events.get_events(sent))
    orderings = [got[e].stream_ordering or 0 for e in sent]
    assert orderings == sorted(orderings) and min(orderings) > 0
    assert not any(got[e].outlier for e in sent)
    body = room.joiner.sync(since_b, timeout=0)
    assert bodies(timeline(body, room.room_id))[-1] == "m59"


def test_typing_and_receipts_cross_both_ways(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    room = _room(pair)
    since_b = room.joiner.sync(timeout=0)["next_batch"]
    since_a = room.creator.sync(timeout=0)["next_batch"]
    path = f"/_matrix/client/v3/rooms/{room.room_id}/typing/{room.creator.user_id}"
    assert a.request("PUT", path, {"typing": True}, room.creator.token).code == 200
    path = f"/_matrix/client/v3/rooms/{room.room_id}/typing/{room.joiner.user_id}"
    assert b.request("PUT", path, {"typing": True}, room.joiner.token).code == 200
    pair.pump(0)
    typing_b = _ephemeral(
        room.joiner.sync(since_b, timeout=0), room.room_id, "m.typing"
    )
    assert room.creator.user_id in typing_b[-1]["user_ids"]
    typing_a = _ephemeral(
        room.creator.sync(since_a, timeout=0), room.room_id, "m.typing"
    )
    assert room.joiner.user_id in typing_a[-1]["user_ids"]

    event_id = send_message(room.creator, room.room_id, "read me")
    pair.pump(0)
    since_a = room.creator.sync(timeout=0)["next_batch"]
    resp = b.request(
        "POST",
        f"/_matrix/client/v3/rooms/{room.room_id}/receipt/m.read/{event_id}",
        {},
        room.joiner.token,
    )
    assert resp.code == 200
    pair.pump(0)
    receipts = _ephemeral(
        room.creator.sync(since_a, timeout=0), room.room_id, "m.receipt"
    )
    assert receipts and room.joiner.user_id in receipts[-1][event_id]["m.read"]


def test_presence_devices_and_to_device_cross(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    room = _room(pair)
    since_b = room.joiner.sync(timeout=0)["next_batch"]
    resp = a.request(
        "PUT",
        f"/_matrix/client/v3/presence/{room.creator.user_id}/status",
        {"presence": "online", "status_msg": "on a"},
        room.creator.token,
    )
    assert resp.code == 200
    a.request(
        "POST",
        "/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "alice"},
            "password": "password123",
            "device_id": "NEWPHONE",
        },
    )
    devices = b.request("GET", "/_matrix/client/v3/devices", token=room.joiner.token)
    bob_device = devices.json["devices"][0]["device_id"]
    resp = a.request(
        "PUT",
        "/_matrix/client/v3/sendToDevice/m.test/t1",
        {"messages": {room.joiner.user_id: {bob_device: {"secret": 1}}}},
        room.creator.token,
    )
    assert resp.code == 200
    pair.pump(0)
    body = room.joiner.sync(since_b, timeout=0)
    [presence] = [
        e for e in body["presence"]["events"] if e["sender"] == room.creator.user_id
    ]
    assert presence["content"]["status_msg"] == "on a"
    assert room.creator.user_id in body["device_lists"]["changed"]
    assert body["to_device"]["events"] == [
        {"type": "m.test", "sender": room.creator.user_id, "content": {"secret": 1}}
    ]


def test_user_devices_query(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    room = _room(pair)
    uri = f"/_matrix/federation/v1/user/devices/{room.creator.user_id}"
    resp = pair.signed_request(b, a, "GET", uri)
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == room.creator.user_id
    assert resp.json["stream_id"] > 0
    assert [d["device_id"] for d in resp.json["devices"]]
    assert a.request("GET", uri).code == 401
    resp = pair.signed_request(
        b, a, "GET", f"/_matrix/federation/v1/user/devices/{room.joiner.user_id}"
    )
    assert resp.code == 400


def test_resident_server_relays_a_join_it_accepted(
    make_federation: Callable[[], Federation],
) -> None:
    """A joining server that does not pass its join on (Synapse does not) still
    gets it to the room's other servers: the resident server relays it."""
    fed = make_federation()
    a, b, c = (fed.add_server(n) for n in ("a.test", "b.test", "c.test"))
    alice = a.user("alice")
    bob = b.user("bob")
    carol = c.user("carol")
    room_id = alice.create_room(preset="public_chat")
    join = f"/_matrix/client/v3/join/{quote(room_id, safe='')}?via=a.test"
    assert carol.post(join, {}).code == 200
    fed.pump(1)
    b.hs.federation.sender.enabled = False
    assert bob.post(join, {}).code == 200
    fed.pump(1)
    membership = c.get_success(
        c.hs.core.room_state.get_membership(room_id, bob.user_id)
    )
    assert membership is not None and membership[0] == "join"


def test_a_relayed_join_is_not_sent_back_to_its_origin(
    make_federation: Callable[[], Federation], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resident server relays a join it accepted through send_join to the
    room's other servers, but never back to the joining server (which has it),
    as Synapse's "send on behalf of"."""
    fed = make_federation()
    a, b, c = (fed.add_server(n) for n in ("a.test", "b.test", "c.test"))
    received: dict[str, list[dict[str, Any]]] = {"b.test": [], "c.test": []}
    deliver = fed.deliver

    async def recording(
        server: TestServer, raw: bytes, timeout_ms: int | None
    ) -> FakeResponse:
        head, _, body = raw.partition(b"\r\n\r\n")
        name = server.hs.core.config.server.server_name
        if b"/_matrix/federation/v1/send/" in head.split(b"\r\n", 1)[0]:
            received.setdefault(name, []).extend(json.loads(body).get("pdus", []))
        return await deliver(server, raw, timeout_ms)

    monkeypatch.setattr(fed, "deliver", recording)
    alice, bob, carol = a.user("alice"), b.user("bob"), c.user("carol")
    room_id = alice.create_room(preset="public_chat")
    join = f"/_matrix/client/v3/join/{quote(room_id, safe='')}?via=a.test"
    assert carol.post(join, {}).code == 200
    fed.pump(1)
    assert bob.post(join, {}).code == 200
    fed.pump(1)

    def joins_of(server: str, user_id: str) -> list[dict[str, Any]]:
        return [
            p
            for p in received[server]
            if p.get("type") == "m.room.member" and p.get("state_key") == user_id
        ]

    assert joins_of("c.test", bob.user_id)  # relayed to the others (b sends it too)
    assert joins_of("b.test", bob.user_id) == []  # never back to its origin
    membership = c.get_success(
        c.hs.core.room_state.get_membership(room_id, bob.user_id)
    )
    assert membership is not None and membership[0] == "join"


def test_our_join_through_a_resident_is_not_sent_back_to_it(
    make_federation: Callable[[], Federation], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The joining side: our user's join made through a resident server's
    send_join is not sent to that server again over /send (it has it)."""
    fed = make_federation()
    a, b = (fed.add_server(n) for n in ("a.test", "b.test"))
    received: list[dict[str, Any]] = []
    deliver = fed.deliver

    async def recording(
        server: TestServer, raw: bytes, timeout_ms: int | None
    ) -> FakeResponse:
        head, _, body = raw.partition(b"\r\n\r\n")
        if server is a and b"/_matrix/federation/v1/send/" in head.split(b"\r\n")[0]:
            received.extend(json.loads(body).get("pdus", []))
        return await deliver(server, raw, timeout_ms)

    monkeypatch.setattr(fed, "deliver", recording)
    alice, bob = a.user("alice"), b.user("bob")
    room_id = alice.create_room(preset="public_chat")
    join = f"/_matrix/client/v3/join/{quote(room_id, safe='')}?via=a.test"
    assert bob.post(join, {}).code == 200
    fed.pump(1)
    send_message(bob, room_id, "after the join")
    fed.pump(1)
    types = [(p.get("type"), p.get("state_key")) for p in received]
    assert ("m.room.message", None) in types  # b does send to a
    assert ("m.room.member", bob.user_id) not in types


def test_queue_survives_a_restart_over_real_federation(
    pair: FederationPair, tmp_path: Path
) -> None:
    """Events queued for a server that is down are delivered by the next
    process on the same database, through the receiver's real /send."""
    a, b = pair.a, pair.b
    room = _room(pair)
    send_message(room.creator, room.room_id, "before")
    pair.pump(0)
    pair.set_reachable("b.test", False)
    sent = [send_message(room.creator, room.room_id, f"m{i}") for i in range(3)]
    pair.pump(1)
    a.hs.federation.stop()
    a.hs.presence.service.stop()
    restarted = TestServer(
        a.db.engine,
        {"server": {"server_name": "a.test"}},
        tmp_path,
        signing_key=a.signing_key,
        reactor=pair.reactor,
        federation_transport=LoopbackTransport(pair, "a.test", a.signing_key),
    )
    pair.servers["a.test"] = restarted
    pair.set_reachable("b.test", True)
    pair.pump(10)
    got = b.get_success(b.hs.core.events.get_events(sent))
    assert sorted(got) == sorted(sent)
