"""A minimal client of Chatly's WebSocket transport (docs/websocket.md).

Logs in over the socket, authenticates the socket, subscribes to sync, sends a
message and waits until it comes back in the sync stream. Needs only autobahn:

    python docs/examples/ws_client.py http://127.0.0.1:8008 alice 'her password'
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

WS_PATH = "/_chatly/client/v1/ws"


class ChatlySocket(WebSocketClientProtocol):
    """Puts every message from the server on a queue."""

    def onOpen(self) -> None:
        self.factory.opened.set_result(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.factory.inbox.put_nowait(json.loads(payload))

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.factory.inbox.put_nowait({"type": "closed", "code": code})


class Client:
    def __init__(self, socket: ChatlySocket, inbox: asyncio.Queue[Any]) -> None:
        self.socket, self.inbox, self.ids = socket, inbox, itertools.count()
        self.pending: dict[str, asyncio.Future[Any]] = {}
        self.syncs: asyncio.Queue[Any] = asyncio.Queue()
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.dispatcher = asyncio.ensure_future(self._dispatch())

    async def _dispatch(self) -> None:
        while True:
            message = await self.inbox.get()
            if message["type"] == "response":
                self.pending.pop(message["id"]).set_result(message)
            elif message["type"] == "sync":
                self.syncs.put_nowait(message["body"])
            else:
                self.events.put_nowait(message)  # authenticated, error, closed...

    def send(self, message: dict[str, Any]) -> None:
        self.socket.sendMessage(json.dumps(message).encode())

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        request_id = str(next(self.ids))
        self.pending[request_id] = asyncio.get_running_loop().create_future()
        self.send(
            {
                "type": "request",
                "id": request_id,
                "method": method,
                "path": "/_matrix/client/v3" + path,
                "body": body,
            }
        )
        response = await self.pending[request_id]
        if response["status"] != 200:
            raise RuntimeError(f"{method} {path}: {response['body']}")
        return response["body"]


async def main(base_url: str, user: str, password: str) -> None:
    parts = urlsplit(base_url)
    factory = WebSocketClientFactory(f"ws://{parts.hostname}:{parts.port}{WS_PATH}")
    factory.protocol = ChatlySocket
    loop = asyncio.get_running_loop()
    factory.opened, factory.inbox = loop.create_future(), asyncio.Queue()
    await loop.create_connection(factory, parts.hostname, parts.port)
    client = Client(await factory.opened, factory.inbox)

    login = await client.request(
        "POST",
        "/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
        },
    )
    client.send({"type": "auth", "access_token": login["access_token"]})
    print("authenticated:", await client.events.get())

    created = await client.request("POST", "/createRoom", {"name": "ws example"})
    room_id = created["room_id"]
    client.send({"type": "sync", "filter": {"room": {"timeline": {"limit": 20}}}})
    await client.syncs.get()  # the initial sync

    text = "hello from the WebSocket example"
    sent = await client.request(
        "PUT",
        f"/rooms/{room_id}/send/m.room.message/{time.time_ns()}",
        {"msgtype": "m.text", "body": text},
    )
    while True:  # each sync message continues from the previous one's next_batch
        body = await asyncio.wait_for(client.syncs.get(), 30)
        room = body["rooms"]["join"].get(room_id, {})
        for event in room.get("timeline", {}).get("events", []):
            if event["event_id"] == sent["event_id"]:
                print("received:", event["content"]["body"])
                print("next_batch:", body["next_batch"])
                client.socket.sendClose(1000)
                return


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
