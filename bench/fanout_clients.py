"""The recipients of the fan-out benchmark: long-polling /sync clients and
Chatly WebSocket sync subscribers, all in one asyncio process.

Each recipient notes when a message it was told to expect (by its body text)
arrives. ``run_rounds`` sends one message per round into the room and
collects, for every recipient, the latency from the start of the send to the
moment it held the message, with every wait bounded.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aiohttp
import sync_bench
from sync_bench import Api, ScenarioUnavailable, quiesce

WS_PATH = "/_chatly/client/v1/ws"
LONG_POLL_MS = 30_000
# The initial sync only fetches a token: lazy-loaded members and one event, so
# a member of a 1,000-member room does not download 1,000 member events.
INITIAL_FILTER = json.dumps(
    {"room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 1}}}
)


async def initial_token(api: Api, presence: str) -> str:
    """A ``next_batch`` to start from (a cheap initial sync)."""
    data = await api.call(
        "GET",
        "/_matrix/client/v3/sync",
        query={"timeout": "0", "filter": INITIAL_FILTER, "set_presence": presence},
        endpoint="GET /sync (initial)",
        timeout=120,
    )
    return str(data["next_batch"])


class Recipient(sync_bench.Recipient):
    """A recipient of the fan-out rounds.

    ``presence`` is the ``set_presence`` of its syncs: "offline" keeps the
    recipients from marking themselves online, without which N members
    starting to sync cause N presence changes, each sent to all N (a storm of
    N² responses before the first round, on either server).
    """

    def __init__(self, api: Api, presence: str = "offline") -> None:
        super().__init__(api)
        self.since = ""
        self.presence = presence


class LongPoller(Recipient):
    """GET /sync?since=...&timeout=30000 in a loop."""

    async def start(self) -> None:
        self.since = await initial_token(self.api, self.presence)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            while True:
                query = {
                    "since": self.since,
                    "timeout": str(LONG_POLL_MS),
                    "set_presence": self.presence,
                }
                self.got(
                    await self.api.call(
                        "GET",
                        "/_matrix/client/v3/sync",
                        query=query,
                        endpoint="GET /sync",
                        timeout=LONG_POLL_MS / 1000 + 60,
                    )
                )
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the waiters
            self.fail(exc)


class Socket(Recipient):
    """A Chatly WebSocket (docs/websocket.md) subscribed to the sync stream.

    aiohttp answers the server's pings by itself (``autoping``), which is
    what tells the server the responses arrived (it asks only now and then).
    """

    ws: aiohttp.ClientWebSocketResponse

    async def start(self) -> None:
        # Subscribing from a token, the first response comes when there is
        # something new (or at the end of a long-poll), so this does not wait
        # for it: the warm-up round shows every stream is live.
        self.since = await initial_token(self.api, self.presence)
        url = self.api.base.replace("http://", "ws://", 1) + WS_PATH
        self.ws = await self.api.http.ws_connect(
            url,
            headers={"Authorization": f"Bearer {self.api.token}"},
            autoping=True,
            max_msg_size=0,
            timeout=aiohttp.ClientWSTimeout(ws_close=10),
        )
        self.task = asyncio.create_task(self._run())
        subscribe = {"type": "sync", "since": self.since, "set_presence": self.presence}
        await self.ws.send_str(json.dumps(subscribe))

    async def _run(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                kind = data.get("type")
                if kind == "sync":
                    self.got(data["body"])
                elif kind == "error":
                    raise ScenarioUnavailable(f"socket error: {data}")
            raise ScenarioUnavailable(f"socket closed ({self.ws.close_code})")
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the waiters
            self.fail(exc)

    async def stop(self) -> None:
        await super().stop()
        if not self.ws.closed:
            await self.ws.close()


@dataclass
class Rounds:
    """What the measured rounds gave."""

    latencies: list[float] = field(default_factory=list)
    missed: int = 0


async def run_rounds(
    sender: Api,
    room: str,
    recipients: Sequence[Recipient],
    rounds: int,
    warmup: int,
    wait: float,
    label: str,
    on_measured: Callable[[bool], Awaitable[None]],
) -> Rounds:
    """``warmup`` + ``rounds`` rounds of one message to every recipient.

    ``on_measured(True)`` is awaited right before the first measured round and
    ``on_measured(False)`` right after the last, so the caller meters exactly
    the measured rounds.
    """
    out = Rounds()
    count = len(recipients)
    for r in range(warmup + rounds):
        await quiesce(recipients, 0.3, 10.0)
        if r == warmup:
            await on_measured(True)
        body = f"{label} round {r}"
        futs = [x.expect(body) for x in recipients]
        start = time.perf_counter()
        await sender.send(room, body)
        done, pending = await asyncio.wait(futs, timeout=wait)
        for fut in pending:
            fut.cancel()
        for fut in done:
            exc = fut.exception()
            if exc is not None:
                raise ScenarioUnavailable(f"a recipient failed: {exc!r}")
        if r >= warmup:
            out.latencies.extend(f.result() - start for f in done)
            out.missed += len(pending)
        if out.missed > count * rounds // 10:
            raise ScenarioUnavailable(
                f"{out.missed} deliveries missed (not within {wait:g}s)"
            )
    await on_measured(False)
    return out
