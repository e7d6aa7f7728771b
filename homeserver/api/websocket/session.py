"""One client's WebSocket session: authentication, the sync stream, requests.

Knows nothing of autobahn: it talks to its socket through ``Connection``, so it
can be driven by a fake in tests. Spec of the protocol: docs/websocket.md.

The sync stream calls ``SyncService.sync`` in a loop, each call continuing from
the previous response's ``next_batch``. It waits for the client to have
received what was sent (``Connection.delivered``, a WebSocket ping answered by
a pong) only where that matters: after a response with to-device messages
(they are deleted once a later sync starts from a token past them, so that
happens only after the client has them, the guarantee of /sync), once
``UNCONFIRMED_BYTES`` were sent unconfirmed (what a slow reader can make the
server hold), and while the send buffer is full. Other responses follow each
other without a round trip. A sliding-sync stream always waits: each
response's ``pos`` is the next request's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

import attrs
from twisted.internet import defer

from homeserver.api.client.sync import parse_sync_params
from homeserver.api.http.outcome import error_response
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import Router
from homeserver.api.websocket import messages as m
from homeserver.api.websocket.requests import run_request
from homeserver.config.model import WebSocketConfig
from homeserver.errors import Codes, Forbidden, MatrixError
from homeserver.services.accounts.auth import Auth, Requester
from homeserver.services.presence.presence_rules import PresenceState
from homeserver.services.sliding_sync.extensions.to_device import carry_since
from homeserver.services.sliding_sync.request import SlidingSyncRequest, parse_request
from homeserver.services.sliding_sync.service import SlidingSyncService
from homeserver.services.sync.sync import SyncParams, SyncService
from homeserver.streams.tokens import StreamToken
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

# Each SyncService.sync call of the stream long-polls this long; the token is
# re-checked between calls, so a logged-out or expired token ends the stream.
SYNC_WAIT_MS = 30_000
# How much of the /sync stream may be sent before the client has confirmed
# receiving it (a ping answered): past this, the stream waits for the client.
UNCONFIRMED_BYTES = 64 * 1024


class Connection(Protocol):
    """What a session needs from its socket."""

    def send(self, message: JsonDict) -> int:
        """Queue one message (dropped if the socket is closing); its size."""

    def close(self, code: int, reason: str) -> None:
        """Start the closing handshake."""

    def delivered(self) -> defer.Deferred[None]:
        """Fires once the client has received everything sent so far."""

    def backed_up(self) -> bool:
        """Whether the send buffer is over its high-water mark."""

    def slow_reader(self, why: str) -> None:
        """Close the socket with 4008 "slow reader"."""


@attrs.frozen
class SessionDeps:
    """The collaborators of every session of one listener."""

    auth: Auth
    sync: SyncService
    router: Router
    clock: Clock
    config: WebSocketConfig
    max_body_size: int
    sliding: SlidingSyncService | None = None


class ClientSession:
    """The protocol state of one socket."""

    def __init__(
        self,
        conn: Connection,
        deps: SessionDeps,
        client_ip: str,
        user_agent: str | None,
    ) -> None:
        self.conn = conn
        self.deps = deps
        self.client_ip = client_ip
        self.user_agent = user_agent
        self.token: str | None = None
        self.requester: Requester | None = None
        self.is_closed = False
        self._authenticating = False
        self._auth_waiters: list[defer.Deferred[None]] = []
        self._auth_timer: Any = None
        self._sync_task: defer.Deferred[Any] | None = None
        self._ack_wait: tuple[str, defer.Deferred[None]] | None = None
        self._in_flight = 0

    def start(self, token: str | None) -> None:
        """The socket opened, with the token of its upgrade request if any."""
        if token is not None:
            self._begin_auth(token)
        else:
            self._auth_timer = self.deps.clock.call_later(
                self.deps.config.auth_timeout / 1000, self._auth_timed_out
            )

    def closed(self) -> None:
        """The socket is gone: stop the sync stream and every timer."""
        self.is_closed = True
        if self._auth_timer is not None and self._auth_timer.active():
            self._auth_timer.cancel()
        if self._sync_task is not None:
            self._sync_task.cancel()
        self._wake_auth_waiters()

    def on_message(self, payload: bytes) -> None:
        """One text message from the client."""
        if self.is_closed:
            return
        try:
            message = m.parse_message(payload)
        except m.RequestMessageError as exc:
            self._respond(exc.request_id, exc.error.code, exc.error.to_json())
            return
        except MatrixError as exc:
            self.conn.send(m.error_message(m.ABOUT_MESSAGE, exc.code, exc.to_json()))
            return
        if isinstance(message, m.PingMessage):
            pong: JsonDict = {"type": "pong"}
            if message.id is not None:
                pong["id"] = message.id
            self.conn.send(pong)
        elif isinstance(message, m.AuthMessage):
            self._begin_auth(message.access_token)
        elif isinstance(message, m.SyncMessage | m.SlidingSyncMessage):
            self._start_sync(message)
        elif isinstance(message, m.AckMessage):
            self._on_ack(message.next_batch)
        else:
            self._start_request(message)

    # Authentication ---------------------------------------------------------

    def _begin_auth(self, token: str) -> None:
        self._authenticating = True
        run_in_background("websocket_auth", self._authenticate(token))

    async def _authenticate(self, token: str) -> None:
        try:
            requester = await self._check_token(token)
            if self.requester is not None and (
                requester.user_id,
                requester.device_id,
            ) != (self.requester.user_id, self.requester.device_id):
                raise Forbidden("A socket's token cannot change to another device")
            if self.is_closed:
                return
            if self._auth_timer is not None and self._auth_timer.active():
                self._auth_timer.cancel()
            self.token, self.requester = token, requester
            self.conn.send(
                {
                    "type": "authenticated",
                    "user_id": requester.user_id,
                    "device_id": requester.device_id,
                }
            )
        except MatrixError as exc:
            self._fail_auth(exc.code, exc.to_json())
        finally:
            self._authenticating = False
            self._wake_auth_waiters()

    async def _check_token(self, token: str) -> Requester:
        """The requester of ``token``, noting the device as seen from this socket."""
        return await self.deps.auth.get_user_by_access_token(token, self.client_ip)

    async def _auth_settled(self) -> None:
        """Wait for an authentication in progress to succeed or fail."""
        while self._authenticating and not self.is_closed:
            waiter: defer.Deferred[None] = defer.Deferred()
            self._auth_waiters.append(waiter)
            await waiter

    def _wake_auth_waiters(self) -> None:
        waiters, self._auth_waiters = self._auth_waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _fail_auth(self, status: int, body: JsonDict) -> None:
        self.token = self.requester = None
        self.conn.send(m.error_message(m.ABOUT_AUTH, status, body))
        self.conn.close(m.CLOSE_AUTH_FAILED, body.get("errcode", Codes.UNKNOWN_TOKEN))

    def _auth_timed_out(self) -> None:
        self._auth_timer = None
        if self.requester is None and not self._authenticating:
            self._fail_auth(
                401,
                {"errcode": Codes.MISSING_TOKEN, "error": "No access token was given"},
            )

    # Requests ---------------------------------------------------------------

    def _start_request(self, message: m.RequestMessage) -> None:
        if self._in_flight >= self.deps.config.max_concurrent_requests:
            self._respond(
                message.id,
                429,
                {
                    "errcode": Codes.LIMIT_EXCEEDED,
                    "error": "Too many requests in progress on this socket",
                    "retry_after_ms": 100,
                },
            )
            return
        self._in_flight += 1
        run_in_background("websocket_request", self._request(message), db_unit=False)

    async def _request(self, message: m.RequestMessage) -> None:
        try:
            await self._auth_settled()
            status, body = await run_request(
                self.deps.router,
                message,
                access_token=self.token,
                client_ip=self.client_ip,
                user_agent=self.user_agent,
                max_body_size=self.deps.max_body_size,
            )
            self._respond(message.id, status, body)
        finally:
            self._in_flight -= 1

    def _respond(self, request_id: str, status: int, body: Any) -> None:
        if not self.is_closed:
            self.conn.send(m.response_message(request_id, status, body))

    # The sync stream --------------------------------------------------------

    def _start_sync(self, message: m.SyncMessage | m.SlidingSyncMessage) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()
        stream = (
            self._sync_stream(message)
            if isinstance(message, m.SyncMessage)
            else self._sliding_stream(message)
        )
        task = run_in_background("websocket_sync", stream)
        self._sync_task = task

        def forget(result: Any) -> Any:
            if self._sync_task is task:
                self._sync_task = None
            return result

        task.addBoth(forget)

    async def _sync_stream(self, message: m.SyncMessage) -> None:
        try:
            await self._auth_settled()
            if self.requester is None:
                raise MatrixError(401, "Authenticate first", Codes.MISSING_TOKEN)
            params = parse_sync_params(
                ApiRequest("GET", self.deps.config.path, query=message.query)
            )
            await self._sync_loop(params, message.ack)
        except defer.CancelledError:
            return
        except Exception as exc:
            self._stream_failed(exc, m.ABOUT_SYNC)

    async def _sync_loop(self, params: SyncParams, ack: bool) -> None:
        async with self._syncing(params.set_presence):
            await self._sync_rounds(
                attrs.evolve(params, set_presence=PresenceState.OFFLINE), ack
            )

    @contextlib.asynccontextmanager
    async def _syncing(self, set_presence: str | None) -> AsyncIterator[None]:
        """The stream counts as one long sync for presence, from its start
        to its end: each round's sync is told to leave presence alone (an
        ``offline`` one), rather than announcing and ending a sync of its
        own every round (with workers, two requests to the presence writer
        per message)."""
        assert self.requester is not None
        user_id = self.requester.user_id
        presence = self.deps.sync.sources.presence
        await presence.user_syncing(user_id, set_presence)
        try:
            yield
        finally:
            presence.user_stopped_syncing(user_id, set_presence)

    async def _sync_rounds(self, params: SyncParams, ack: bool) -> None:
        since, full_state = params.since, params.full_state
        unconfirmed = 0
        while not self.is_closed:
            assert self.token is not None
            requester = await self._check_token(self.token)
            body = await self.deps.sync.sync(
                requester,
                attrs.evolve(
                    params, since=since, full_state=full_state, timeout_ms=SYNC_WAIT_MS
                ),
            )
            if since is None or full_state or has_news(body):
                unconfirmed += self.conn.send({"type": "sync", "body": body})
                if ack:
                    await self._acknowledged(body["next_batch"])
                elif (
                    body.get("to_device", {}).get("events")
                    or unconfirmed >= UNCONFIRMED_BYTES
                    or self.conn.backed_up()
                ):
                    await self.conn.delivered()
                    unconfirmed = 0
                else:
                    # Nothing to confirm yet: the next round starts at once,
                    # once the answers of the syncs this event woke are sent.
                    await self.deps.clock.after_io(idle=True)
            since, full_state = StreamToken.parse(body["next_batch"]), False

    async def _sliding_stream(self, message: m.SlidingSyncMessage) -> None:
        try:
            await self._auth_settled()
            if self.requester is None or self.deps.sliding is None:
                raise MatrixError(401, "Authenticate first", Codes.MISSING_TOKEN)
            await self._sliding_loop(message)
        except defer.CancelledError:
            return
        except Exception as exc:
            self._stream_failed(exc, m.ABOUT_SLIDING_SYNC)

    def _stream_failed(self, exc: Exception, about: str) -> None:
        """A stream ended on an error: an unknown token fails the socket's
        auth, anything else is an ``error`` message about the stream."""
        status, body, _ = error_response(exc, f"WS {about}")
        if body.get("errcode") == Codes.UNKNOWN_TOKEN:
            self._fail_auth(status, body)
        elif not self.is_closed:
            self.conn.send(m.error_message(about, status, body))

    async def _sliding_loop(self, message: m.SlidingSyncMessage) -> None:
        """Sliding-sync requests in a loop, each from the last ``pos`` sent.
        A response with nothing new is not sent, and its ``pos`` is not used:
        the next request retries the client's ``pos``, so the client's last
        ``pos`` stays valid for reconnecting."""
        assert self.deps.sliding is not None
        req = parse_request(message.body)
        async with self._syncing(req.set_presence):
            await self._sliding_rounds(
                message, attrs.evolve(req, set_presence=PresenceState.OFFLINE)
            )

    async def _sliding_rounds(
        self, message: m.SlidingSyncMessage, req: SlidingSyncRequest
    ) -> None:
        assert self.deps.sliding is not None
        pos, first = req.pos, True
        while not self.is_closed:
            assert self.token is not None
            requester = await self._check_token(self.token)
            response = await self.deps.sliding.respond(
                requester,
                attrs.evolve(req, pos=pos, timeout_ms=SYNC_WAIT_MS if pos else 0),
            )
            body = response.body
            if first or response.news:
                self.conn.send({"type": "sliding_sync", "body": body})
                if message.ack:
                    await self._acknowledged(body["pos"])
                else:
                    await self.conn.delivered()
                pos, first = body["pos"], False
                # as a client would: the next request acknowledges the
                # to-device messages just delivered
                req = attrs.evolve(req, extensions=carry_since(req.extensions, body))

    async def _acknowledged(self, next_batch: str) -> None:
        """Wait for the client's ack of the sync response ending at ``next_batch``."""
        waiter: defer.Deferred[None] = defer.Deferred()
        self._ack_wait = (next_batch, waiter)
        limit = self.deps.config.max_pending_time / 1000
        timer: Any = self.deps.clock.call_later(
            limit, self.conn.slow_reader, f"no ack within {limit:g}s"
        )
        try:
            await waiter
        finally:
            self._ack_wait = None
            if timer.active():
                timer.cancel()

    def _on_ack(self, next_batch: str) -> None:
        """An ack; one for any response but the awaited one is ignored."""
        if self._ack_wait is not None and self._ack_wait[0] == next_batch:
            waiter = self._ack_wait[1]
            self._ack_wait = None
            waiter.callback(None)


def has_news(body: JsonDict) -> bool:
    """Whether an incremental sync response carries anything for the client.

    An empty one (the long-poll timed out) is not sent: the client's last
    ``next_batch`` stays as good as the new one.
    """
    if any(body.get("rooms", {}).values()):
        return True
    for section in ("account_data", "presence", "to_device"):
        if body.get(section, {}).get("events"):
            return True
    device_lists = body.get("device_lists", {})
    return bool(device_lists.get("changed") or device_lists.get("left"))
