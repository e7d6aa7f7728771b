"""matrix-nio clients on a worker deployment, and the lost/duplicated count.

``user_on(deployment, name, via)`` registers a user (through nginx) and gives
back a nio client that talks to process ``via`` directly, or to nginx when
``via`` is None. ``Watcher`` syncs one client in the background and counts
every timeline event of a room it is handed: ``lost`` are the acknowledged
sends it never saw, ``duplicated`` the events it saw more than once (an
incremental /sync must hand each event over exactly once) or the messages
stored twice (a retried send must be deduplicated by its transaction ID).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs
import nio

from tests.support.deployment import Deployment

CONFIG = nio.AsyncClientConfig(encryption_enabled=False, max_timeouts=None)
# Room timelines big enough that no incremental sync of a test is "limited"
# (a gap the client would have to fill with /messages).
SYNC_FILTER = {"room": {"timeline": {"limit": 2000}}}
POLL_MS = 2000


async def user_on(
    deployment: Deployment, name: str, via: str | None = None
) -> nio.AsyncClient:
    """A new user's nio client, on process ``via`` (nginx when None)."""
    localpart = f"{name}{secrets.token_hex(3)}"
    registrar = nio.AsyncClient(deployment.proxy_url, config=CONFIG)
    try:
        answer = await registrar.register(localpart, f"{localpart} long password")
        assert isinstance(answer, nio.RegisterResponse), answer
    finally:
        await registrar.close()
    base = deployment.proxy_url if via is None else deployment.url(via)
    client = nio.AsyncClient(base, answer.user_id, answer.device_id, config=CONFIG)
    client.restore_login(answer.user_id, answer.device_id, answer.access_token)
    return client


def via_proxy(deployment: Deployment, client: nio.AsyncClient) -> nio.AsyncClient:
    """Another nio client of the same login, talking to nginx."""
    twin = nio.AsyncClient(
        deployment.proxy_url, client.user_id, client.device_id, config=CONFIG
    )
    twin.restore_login(client.user_id, client.device_id, client.access_token)
    return twin


async def shared_room(owner: nio.AsyncClient, *others: nio.AsyncClient) -> str:
    """A public room ``owner`` creates and each of ``others`` joins."""
    created = await owner.room_create(preset=nio.RoomPreset.public_chat)
    assert isinstance(created, nio.RoomCreateResponse), created
    for other in others:
        joined = await other.join(created.room_id)
        assert isinstance(joined, nio.JoinResponse), joined
    return str(created.room_id)


async def sync_until(
    client: nio.AsyncClient,
    found: Callable[[nio.SyncResponse], Any],
    timeout: float = 30.0,
) -> Any:
    """Sync until ``found(response)`` is truthy; its value.

    Raises:
        TimeoutError: not within ``timeout`` seconds.
    """
    async with asyncio.timeout(timeout):
        while True:
            response = await client.sync(timeout=POLL_MS, sync_filter=SYNC_FILTER)
            if isinstance(response, nio.SyncResponse):
                value = found(response)
                if value:
                    return value
            else:
                await asyncio.sleep(0.2)


def timeline(response: nio.SyncResponse, room_id: str) -> list[Any]:
    """The timeline events of ``room_id`` in one sync response."""
    room = response.rooms.join.get(room_id)
    return list(room.timeline.events) if room else []


def ephemeral(response: nio.SyncResponse, room_id: str) -> list[Any]:
    """The ephemeral events (typing, receipts) of ``room_id``."""
    room = response.rooms.join.get(room_id)
    return list(room.ephemeral) if room else []


async def trio(
    deployment: Deployment,
) -> tuple[nio.AsyncClient, nio.AsyncClient, nio.AsyncClient, str]:
    """alice on reader1, bob on reader2, carol through nginx, in one new room,
    each past its initial sync (so later syncs are incremental)."""
    alice = await user_on(deployment, "alice", via="reader1")
    bob = await user_on(deployment, "bob", via="reader2")
    carol = await user_on(deployment, "carol")
    # The room is made and joined through nginx (joins go to main); what
    # each client does later goes to its own process.
    proxied = [via_proxy(deployment, c) for c in (alice, bob)]
    room_id = await shared_room(carol, *proxied)
    await close_all(*proxied)
    for client in (alice, bob, carol):
        await sync_until(client, lambda r: room_id in r.rooms.join)
    return alice, bob, carol, room_id


async def close_all(*clients: nio.AsyncClient) -> None:
    """Close every client's HTTP session."""
    for client in clients:
        await client.close()


async def count_under_fault(
    deployment: Deployment, fault: Callable[[], None], load: int
) -> tuple[dict[str, Count], Sender]:
    """Send ``load`` messages through nginx while alice (reader1), bob (reader2)
    and carol (nginx) sync; run ``fault`` (in a thread) once a third are
    acknowledged; then count, per watcher, lost and duplicated events."""
    alice, bob, carol, room_id = await trio(deployment)
    sender = Sender(await user_on(deployment, "sender"), room_id)
    joined = await sender.client.join(room_id)
    assert isinstance(joined, nio.JoinResponse), joined
    watchers = {
        name: Watcher(client, room_id)
        for name, client in (("reader1", alice), ("reader2", bob), ("nginx", carol))
    }
    for watcher in watchers.values():
        watcher.start()
    try:
        sending = asyncio.create_task(sender.send_many(load))
        while len(sender.acked) < load // 3 and not sending.done():
            await asyncio.sleep(0.05)
        await asyncio.to_thread(fault)
        await sending
        acked = set(sender.acked.values())
        counts = {name: await w.settle(acked) for name, w in watchers.items()}
    finally:
        await close_all(alice, bob, carol, sender.client)
    return counts, sender


@attrs.define
class Count:
    """What one watcher saw of the acknowledged sends."""

    lost: int
    duplicated: int
    errors: int


@attrs.define
class Watcher:
    """Syncs ``client`` until stopped, counting ``room_id``'s timeline events.

    Sync errors (the process is down) are counted and retried with the same
    token, as a client would.
    """

    client: nio.AsyncClient
    room_id: str
    seen: Counter[str] = attrs.field(factory=Counter)
    bodies: Counter[str] = attrs.field(factory=Counter)
    errors: int = 0
    _stop: bool = False
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while not self._stop:
            try:
                response = await self.client.sync(
                    timeout=POLL_MS, sync_filter=SYNC_FILTER
                )
            except Exception:  # noqa: BLE001 - connection refused/reset
                response = None
            if not isinstance(response, nio.SyncResponse):
                self.errors += 1
                await asyncio.sleep(0.3)
                continue
            for event in timeline(response, self.room_id):
                self.seen[event.event_id] += 1
                if isinstance(event, nio.RoomMessageText):
                    self.bodies[event.body] += 1

    def start(self) -> None:
        """Begin syncing in the background (after an initial sync)."""
        self._task = asyncio.create_task(self._run())

    async def settle(self, acked: set[str], timeout: float = 60.0) -> Count:
        """Wait until every acknowledged event was seen (or ``timeout``), stop,
        and count."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not acked <= set(self.seen) and loop.time() < deadline:
            await asyncio.sleep(0.2)
        self._stop = True
        if self._task is not None:
            await self._task
        # A duplicate is an event handed over twice, or a message stored twice
        # (two events with one body: a retried send that was not deduplicated).
        handed_twice = sum(n - 1 for n in self.seen.values() if n > 1)
        stored_twice = sum(n - 1 for n in self.bodies.values() if n > 1)
        return Count(
            lost=len(acked - set(self.seen)),
            duplicated=max(handed_twice, stored_twice),
            errors=self.errors,
        )


@attrs.define
class Sender:
    """Sends numbered messages, retrying retryable failures with the same
    transaction ID (so a retried send is never a second event)."""

    client: nio.AsyncClient
    room_id: str
    acked: dict[str, str] = attrs.field(factory=dict)  # txn_id -> event_id
    retries: int = 0
    failures: list[str] = attrs.field(factory=list)

    async def send(self, number: int, deadline: float = 60.0) -> None:
        """Send message ``number``; record its event ID once acknowledged."""
        txn_id = f"load-{number}-{secrets.token_hex(4)}"
        content = {"msgtype": "m.text", "body": f"load {number}"}
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + deadline
        while True:
            try:
                answer = await self.client.room_send(
                    self.room_id, "m.room.message", content, tx_id=txn_id
                )
            except Exception as exc:  # noqa: BLE001 - connection refused/reset
                answer = exc
            if isinstance(answer, nio.RoomSendResponse):
                self.acked[txn_id] = answer.event_id
                return
            if loop.time() > stop_at or not _retryable(answer):
                self.failures.append(f"{number}: {answer}")
                return
            self.retries += 1
            await asyncio.sleep(0.3)

    async def send_many(self, count: int, pause: float = 0.02) -> None:
        """Send ``count`` messages one after another."""
        for number in range(count):
            await self.send(number)
            await asyncio.sleep(pause)


def _retryable(answer: Any) -> bool:
    """A failure a client retries: no answer, 5xx, 429, or "try again"."""
    if isinstance(answer, Exception):
        return True
    status = getattr(answer, "status_code", None)
    return status in (None, "M_UNKNOWN", "M_LIMIT_EXCEEDED") or "try again" in str(
        getattr(answer, "message", "")
    )
