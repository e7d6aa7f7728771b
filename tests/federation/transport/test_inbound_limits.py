"""Limits that keep one misbehaving server from hurting us: answers longer
than asked for are cut, one-by-one event fetches are bounded, and one
origin's transactions are processed one at a time with a short queue."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet import defer

from homeserver.federation.errors import RequestSendFailed
from homeserver.federation.ingest.fetch import MAX_EVENT_REQUESTS
from homeserver.federation.ingest.transactions import MAX_PENDING_PER_ORIGIN
from homeserver.federation.ingest.verify import PduDropped
from homeserver.federation.transport.auth import sign_request
from tests.federation.pair import FederationPair, build_raw_request
from tests.federation.receiving_helpers import (
    RemoteRoomServer,
    join_remote_room,
    receiving,
    use_remote,
)
from tests.federation.remote_room import REMOTE, RemoteRoom, pdus
from tests.support.server import TEST_SIGNING_KEY, TestServer

FED = "/_matrix/federation/v1"


class _Flooding(RemoteRoomServer):
    """A remote that answers /get_missing_events and /backfill with the
    whole room, whatever the limit."""

    async def post_json(
        self, destination: str, path: str, body: Any, *a: Any, **k: Any
    ) -> Any:
        self.requests.append(("POST", path))
        return {"events": pdus(list(self.room.events.values()))}

    async def get_json(self, destination: str, path: str, *a: Any, **k: Any) -> Any:
        if "/backfill/" in path:
            self.requests.append(("GET", path))
            return {"origin": REMOTE, "pdus": pdus(list(self.room.events.values()))}
        return await super().get_json(destination, path, *a, **k)


def _room_with_messages(count: int) -> RemoteRoom:
    room = RemoteRoom({})
    for i in range(count):
        room.send("m.room.message", room.creator, {"msgtype": "m.text", "body": f"{i}"})
    return room


def test_longer_answers_than_asked_for_are_cut(server: TestServer) -> None:
    room = _room_with_messages(40)
    remote = _Flooding(room)
    use_remote(server, room)
    fetcher = receiving(server).fetcher
    fetcher.transport = remote
    latest = room.extremities
    missing = server.get_success(
        fetcher.get_missing_events(
            REMOTE, room.version, room.room_id, [], latest, 10, 0
        )
    )
    assert len(missing) == 10
    history = server.get_success(
        fetcher.backfill(REMOTE, room.version, room.room_id, latest, 5)
    )
    assert len(history) == 5


def test_one_by_one_fetches_are_bounded(server: TestServer) -> None:
    room = _room_with_messages(MAX_EVENT_REQUESTS + 30)
    remote = use_remote(server, room)
    fetcher = receiving(server).fetcher
    wanted = [e.event_id for e in room.events.values()]
    got = server.get_success(fetcher.get_events(REMOTE, room.version, wanted))
    assert len(got) == MAX_EVENT_REQUESTS
    assert sum(1 for _, path in remote.requests if "/event/" in path) == (
        MAX_EVENT_REQUESTS
    )


class _Silent(RemoteRoomServer):
    """A remote that never answers (every request fails as unreachable)."""

    async def get_json(self, destination: str, path: str, *a: Any, **k: Any) -> Any:
        self.requests.append(("GET", path))
        raise RequestSendFailed("timed out")

    async def post_json(
        self, destination: str, path: str, body: Any, *a: Any, **k: Any
    ) -> Any:
        self.requests.append(("POST", path))
        raise RequestSendFailed("timed out")


def test_a_silent_origin_is_not_asked_again_for_every_pdu(server: TestServer) -> None:
    room = RemoteRoom({"test": TEST_SIGNING_KEY})
    use_remote(server, room)
    join_remote_room(server, room)
    silent = _Silent(room)
    receiving(server).fetcher.transport = silent
    body = {"msgtype": "m.text", "body": "x"}
    gap = room.send("m.room.message", room.creator, body)  # never delivered
    later = [room.send("m.room.message", room.creator, body) for _ in range(3)]

    for event in later:
        with pytest.raises(PduDropped):
            server.get_success(
                receiving(server).on_receive_pdu(REMOTE, room.pdu(event))
            )
    # The first PDU asked (and timed out); the others did not wait again.
    assert len(silent.requests) == 1
    assert gap.event_id not in server.get_success(
        server.hs.core.events.get_events([gap.event_id])
    )

    server.advance(61)
    with pytest.raises(PduDropped):
        server.get_success(
            receiving(server).on_receive_pdu(REMOTE, room.pdu(later[-1]))
        )
    assert len(silent.requests) == 2


def _start_send(pair: FederationPair, txn_id: str, edu_type: str) -> Any:
    """A signed PUT /send from a.test into b.test, not waited for."""
    uri = f"{FED}/send/{txn_id}"
    body = {
        "origin": "a.test",
        "origin_server_ts": 1,
        "pdus": [],
        "edus": [{"edu_type": edu_type, "content": {"txn": txn_id}}],
    }
    header = sign_request(pair.a.signing_key, "PUT", uri, "a.test", "b.test", body)
    raw = build_raw_request("PUT", uri, "b.test", body, {"Authorization": header})
    return pair.b.start_raw_request(raw)


def test_one_transaction_per_origin_at_a_time(pair: FederationPair) -> None:
    b = pair.b
    b.get_success(b.hs.federation.keys.keyring.fetch_direct("a.test"))
    release: defer.Deferred[None] = defer.Deferred()
    handled: list[str] = []

    async def slow(origin: str, content: dict[str, Any]) -> None:
        handled.append(content["txn"])
        if content["txn"] == "t0":
            await release

    b.hs.federation.edus.registry.register("org.example.slow", slow)
    first = _start_send(pair, "t0", "org.example.slow")
    queued = [
        _start_send(pair, f"t{i}", "org.example.slow")
        for i in range(1, MAX_PENDING_PER_ORIGIN)
    ]
    pair.pump(0.1)
    # t0 is being handled; the others wait their turn.
    assert handled == ["t0"]
    assert not first.done and not any(p.done for p in queued)
    # One more than the queue holds: 429, straight away.
    over = _start_send(pair, "over", "org.example.slow")
    pair.pump(0.1)
    assert over.done
    response = over.response()
    assert response.code == 429, response.json
    assert response.json["errcode"] == "M_LIMIT_EXCEEDED"

    release.callback(None)
    pair.pump(0.1)
    assert first.done and all(p.done for p in queued)
    assert handled == [f"t{i}" for i in range(MAX_PENDING_PER_ORIGIN)]
    assert all(p.response().code == 200 for p in [first, *queued])
    # Room in the queue again.
    again = _start_send(pair, "again", "org.example.slow")
    pair.pump(0.1)
    assert again.done and again.response().code == 200


def test_other_origins_are_not_held_up(pair: FederationPair) -> None:
    b = pair.b
    b.get_success(b.hs.federation.keys.keyring.fetch_direct("a.test"))
    release: defer.Deferred[None] = defer.Deferred()

    async def stuck(origin: str, content: dict[str, Any]) -> None:
        await release

    b.hs.federation.edus.registry.register("org.example.stuck", stuck)
    for i in range(MAX_PENDING_PER_ORIGIN):
        _start_send(pair, f"s{i}", "org.example.stuck")
    pair.pump(0.1)
    # a.test's queue is full; c.test's transaction goes straight through.
    transactions = b.hs.federation.ingest.transactions
    answer = b.get_success(
        transactions.on_transaction("c.test", "c1", {"pdus": [], "edus": []})
    )
    assert answer == {"pdus": {}}
    release.callback(None)
    pair.pump(0.1)
