"""Helpers for the outbound federation tests: a recording transport (the
network boundary), rooms with remote members, and reading what was sent."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from homeserver.federation.errors import RequestSendFailed
from tests.support.server import TestServer

SEND_PREFIX = "/_matrix/federation/v1/send/"


class RecordingTransport:
    """Records every outbound request; each destination answers as told.

    ``behaviour[destination]`` is "ok" (the default), "down" (unreachable),
    "hang" (never answers) or an exception instance to raise.
    """

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []
        self.behaviour: dict[str, Any] = {}
        self.hanging: list[defer.Deferred[Any]] = []

    def transactions(self, destination: str) -> list[dict[str, Any]]:
        """The transaction bodies delivered to ``destination``, in order."""
        return [
            b for d, p, b in self.sent if d == destination and p.startswith(SEND_PREFIX)
        ]

    def txn_ids(self) -> list[str]:
        return [
            p[len(SEND_PREFIX) :] for _, p, _ in self.sent if p.startswith(SEND_PREFIX)
        ]

    def edus(self, destination: str, edu_type: str) -> list[dict[str, Any]]:
        return [
            e["content"]
            for txn in self.transactions(destination)
            for e in txn["edus"]
            if e["edu_type"] == edu_type
        ]

    async def put_json(
        self, destination: str, path: str, body: Any, *a: Any, **k: Any
    ) -> Any:
        return await self._answer(destination, path, body)

    async def post_json(
        self, destination: str, path: str, body: Any, *a: Any, **k: Any
    ) -> Any:
        return await self._answer(destination, path, body)

    async def get_json(self, destination: str, path: str, *a: Any, **k: Any) -> Any:
        return await self._answer(destination, path, None)

    async def _answer(self, destination: str, path: str, body: Any) -> Any:
        how = self.behaviour.get(destination, "ok")
        if how == "down":
            raise RequestSendFailed(f"{destination} is down")
        if isinstance(how, Exception):
            raise how
        if how == "hang":
            d: defer.Deferred[Any] = defer.Deferred()
            self.hanging.append(d)
            await d
        self.sent.append((destination, path, body))
        return {"pdus": {}}


def install_transport(server: TestServer) -> RecordingTransport:
    transport = RecordingTransport()
    server.hs.federation.sender.transport = transport
    return transport


def public_room(server: TestServer, token: str) -> str:
    resp = server.request(
        "POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat"}, token
    )
    assert resp.code == 200, resp.json
    return str(resp.json["room_id"])


def remote_join(server: TestServer, room_id: str, user_id: str) -> None:
    """Persist a remote user's join as if it had arrived over federation."""
    server.get_success(
        server.hs.rooms.event_creation.send(
            room_id, user_id, "m.room.member", {"membership": "join"}, user_id
        )
    )
    server.advance(0)


_txn = [0]


def say(server: TestServer, token: str, room_id: str, body: str) -> str:
    _txn[0] += 1
    resp = server.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/t{_txn[0]}",
        {"msgtype": "m.text", "body": body},
        token,
    )
    assert resp.code == 200, resp.json
    return str(resp.json["event_id"])


def delivered_bodies(transport: RecordingTransport, destination: str) -> list[str]:
    """The bodies of the m.room.message PDUs delivered, in order."""
    return [
        pdu["content"]["body"]
        for txn in transport.transactions(destination)
        for pdu in txn["pdus"]
        if pdu["type"] == "m.room.message"
    ]


def restart(old: TestServer, data_dir: Any) -> tuple[TestServer, RecordingTransport]:
    """A new server process on the same database, with a recording transport."""
    old.hs.federation.stop()
    transport = RecordingTransport()
    new = TestServer(old.db.engine, None, data_dir, federation_transport=transport)
    return new, transport
