"""A small asyncio client for the WebSocket transport, on autobahn's asyncio side.

txaio lets a process use autobahn with one framework only, and the test process
already imported autobahn's Twisted side (through the server code), so this
module is only imported in child processes started by ``run_isolated``. It must
not import ``homeserver``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

WS_PATH = "/_chatly/client/v1/ws"
JsonDict = dict[str, Any]


class _Protocol(WebSocketClientProtocol):
    client: WsClient

    def onOpen(self) -> None:
        if not self.client.opened.done():
            self.client.opened.set_result(None)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        message = json.loads(payload)
        self.client.received_bytes += len(payload)
        self.client.inbox.put_nowait(message)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if not self.client.opened.done():
            self.client.opened.set_exception(ConnectionError(f"{code} {reason}"))
        if not self.client.closed.done():
            self.client.closed.set_result((code, reason))


class WsClient:
    """One socket: send messages, receive them by type, watch the close."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[tuple[int | None, str | None]] = (
            loop.create_future()
        )
        self.inbox: asyncio.Queue[JsonDict] = asyncio.Queue()
        self.backlog: list[JsonDict] = []
        self.received_bytes = 0
        self.protocol: _Protocol | None = None
        self._ids = itertools.count(1)

    @classmethod
    async def connect(
        cls,
        base_url: str,
        token: str | None = None,
        *,
        query_token: str | None = None,
        receive_buffer: int | None = None,
        path: str = WS_PATH,
    ) -> WsClient:
        """Open a socket, with the token as a Bearer header or query parameter.

        Args:
            receive_buffer: a small SO_RCVBUF, so that a paused reader's data
                backs up on the server rather than in the client's kernel.
        """
        client = cls()
        parts = urlsplit(base_url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        url = f"ws://{host}:{port}{path}"
        if query_token is not None:
            url += f"?access_token={query_token}"
        headers = {"Authorization": f"Bearer {token}"} if token else None
        factory = WebSocketClientFactory(url, headers=headers)

        def build() -> _Protocol:
            protocol = _Protocol()
            protocol.factory = factory
            protocol.client = client
            client.protocol = protocol
            return protocol

        sock = socket.socket()
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, (host, port))
        await loop.create_connection(build, sock=sock)
        await asyncio.wait_for(client.opened, 10)
        return client

    async def send(self, message: JsonDict) -> None:
        assert self.protocol is not None
        self.protocol.sendMessage(json.dumps(message).encode("utf-8"))

    async def send_raw(self, payload: bytes) -> None:
        assert self.protocol is not None
        self.protocol.sendMessage(payload)

    async def recv(self, kind: str | None = None, timeout: float = 10) -> JsonDict:
        """The next message (of type ``kind``); others are kept for later."""
        for i, message in enumerate(self.backlog):
            if kind is None or message.get("type") == kind:
                return self.backlog.pop(i)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            message = await asyncio.wait_for(self.inbox.get(), max(remaining, 0.01))
            if kind is None or message.get("type") == kind:
                return message
            self.backlog.append(message)

    async def request(
        self, method: str, path: str, body: Any = None, timeout: float = 10
    ) -> JsonDict:
        """Send a request message and wait for its response."""
        request_id = f"r{next(self._ids)}"
        message: JsonDict = {
            "type": "request",
            "id": request_id,
            "method": method,
            "path": path,
        }
        if body is not None:
            message["body"] = body
        await self.send(message)
        return await self.response(request_id, timeout)

    async def response(self, request_id: str, timeout: float = 10) -> JsonDict:
        """The response with ``request_id``."""
        while True:
            message = await self.recv("response", timeout)
            if message["id"] == request_id:
                return message
            self.backlog.append(message)

    async def wait_closed(self, timeout: float = 15) -> tuple[int | None, str | None]:
        """The close code and reason the server sent."""
        return await asyncio.wait_for(asyncio.shield(self.closed), timeout)

    def pause_reading(self) -> None:
        assert self.protocol is not None
        self.protocol.transport.pause_reading()

    def resume_reading(self) -> None:
        assert self.protocol is not None
        self.protocol.transport.resume_reading()

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake."""
        assert self.protocol is not None
        self.protocol.transport.abort()

    async def close(self) -> None:
        if self.protocol is not None and not self.closed.done():
            self.protocol.sendClose(1000)
            try:
                await asyncio.wait_for(asyncio.shield(self.closed), 5)
            except TimeoutError:
                self.protocol.transport.abort()
