#!/usr/bin/env python3
"""Sync benchmark: the same client-server scenarios against Chatly and Synapse.

Starts a fresh server (Chatly with synctl; Synapse from PyPI in its own
virtualenv, bench/.venv-synapse, made on first use), both on SQLite and loopback,
one after the other so they never compete for the CPU. Drives each with the
standard client-server API only and prints one table with both servers' figures
and the ratio Chatly/Synapse.

    python bench/sync_bench.py [--target chatly|synapse|both] [--quick]
                               [--markdown PATH] [--json PATH]

Scenarios:
  rooms       one user creates rooms one after another: rooms/s, CPU per room
  initial     GET /sync without since for that user, in all those rooms (each
              with a few messages): median wall time and CPU of a few runs
  throughput  N concurrent senders, M messages each, into one room: messages/s,
              server CPU per message
  delivery    one receiver long-polls /sync while a sender sends K messages one
              at a time: latency from send start to the receiver seeing it
  fanout      S users in one room each long-poll /sync; one sender sends; the
              latency until each syncer sees the message, over several rounds
              (--syncers 300: the 300-member long-poll scenario of issue 17;
              CPU per recipient is reported to compare room sizes)
  memory      server RSS (VmRSS) after start and after the run; peak (VmHWM)

Server CPU is utime+stime of the server process from /proc/<pid>/stat. A
scenario that fails prints "n/a (reason)" and the rest still runs.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yarl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_postgres  # noqa: E402
import servers  # noqa: E402

CLIENT = "/_matrix/client/v3"
SYNC_PATH = f"{CLIENT}/sync"
SYNC_TIMEOUT_MS = 30_000
PASSWORD = "benchmark-password"
_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------- sizes


@dataclass
class Sizes:
    senders: int = 10
    messages: int = 100
    delivery_messages: int = 200
    spacing_ms: float = 20.0
    rooms: int = 100
    room_messages: int = 3
    initial_sync_runs: int = 5
    syncers: int = 100
    rounds: int = 10
    warmup_rounds: int = 1
    scenario_timeout: float = 600.0
    wait_timeout: float = 10.0


QUICK = Sizes(
    senders=3,
    messages=20,
    delivery_messages=20,
    spacing_ms=10.0,
    rooms=10,
    room_messages=2,
    initial_sync_runs=2,
    syncers=10,
    rounds=3,
    warmup_rounds=1,
    scenario_timeout=60.0,
    wait_timeout=5.0,
)


# -------------------------------------------------------------------- errors


class ScenarioUnavailable(Exception):
    """The scenario cannot be measured; the message goes into the table."""


class EndpointMissing(ScenarioUnavailable):
    def __init__(self, endpoint: str) -> None:
        super().__init__(f"endpoint missing: {endpoint}")


class HttpError(Exception):
    def __init__(self, endpoint: str, status: int, body: bytes) -> None:
        text = body[:200].decode(errors="replace")
        super().__init__(f"{endpoint}: HTTP {status} {text}")
        self.status = status
        self.body = body


# -------------------------------------------------------------------- client


def _errcode(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get("errcode") if isinstance(data, dict) else None


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class Api:
    """One user's access to the server over a shared aiohttp session."""

    def __init__(
        self, http: aiohttp.ClientSession, base: str, token: str | None = None
    ) -> None:
        self.http = http
        self.base = base
        self.token = token
        self.user_id = ""
        self._txn = 0

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        endpoint: str | None = None,
        timeout: float = 60.0,
    ) -> tuple[int, bytes]:
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        async with self.http.request(
            method,
            yarl.URL(url, encoded=True),
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            raw = await resp.read()
            status = resp.status
        label = endpoint or f"{method} {path.split('?')[0]}"
        if status in (404, 405) and _errcode(raw) in ("M_UNRECOGNIZED", None):
            raise EndpointMissing(label)
        return status, raw

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        endpoint: str | None = None,
        timeout: float = 60.0,
    ) -> Any:
        status, raw = await self.request(method, path, body, query, endpoint, timeout)
        if status != 200:
            raise HttpError(endpoint or f"{method} {path}", status, raw)
        return json.loads(raw)

    async def create_room(self, **body: Any) -> str:
        body.setdefault("preset", "public_chat")
        data = await self.call(
            "POST", f"{CLIENT}/createRoom", body, endpoint="POST /createRoom"
        )
        return str(data["room_id"])

    async def join(self, room_id: str) -> None:
        await self.call(
            "POST", f"{CLIENT}/rooms/{q(room_id)}/join", {}, endpoint="POST /join"
        )

    async def send(self, room_id: str, text: str) -> str:
        self._txn += 1
        data = await self.call(
            "PUT",
            f"{CLIENT}/rooms/{q(room_id)}/send/m.room.message/"
            f"b{self._txn}-{time.time_ns()}",
            {"msgtype": "m.text", "body": text},
            endpoint="PUT /rooms/{roomId}/send",
        )
        return str(data["event_id"])

    async def sync(self, since: str | None, timeout_ms: int) -> dict[str, Any]:
        query = {"timeout": str(timeout_ms)}
        if since is not None:
            query["since"] = since
        data = await self.call(
            "GET",
            SYNC_PATH,
            query=query,
            endpoint=f"GET {SYNC_PATH}",
            timeout=timeout_ms / 1000 + 60,
        )
        if not isinstance(data, dict) or "next_batch" not in data:
            raise ScenarioUnavailable("GET /sync answered without next_batch")
        return data


async def register(http: aiohttp.ClientSession, base: str, name: str) -> Api:
    api = Api(http, base)
    body: dict[str, Any] = {
        "username": name,
        "password": PASSWORD,
        "auth": {"type": "m.login.dummy"},
    }
    status, raw = await api.request(
        "POST", f"{CLIENT}/register", body, endpoint="POST /register"
    )
    if status == 401:  # a server that wants the UIA session first
        session = json.loads(raw).get("session")
        body["auth"]["session"] = session
        status, raw = await api.request(
            "POST", f"{CLIENT}/register", body, endpoint="POST /register"
        )
    if status != 200:
        raise HttpError("POST /register", status, raw)
    data = json.loads(raw)
    api.token = data["access_token"]
    api.user_id = data["user_id"]
    return api


async def login(api: Api, password: str) -> Api:
    """A new device (and access token) for ``api``'s user."""
    data = await Api(api.http, api.base).call(
        "POST",
        f"{CLIENT}/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": api.user_id},
            "password": password,
        },
        endpoint="POST /login",
    )
    device = Api(api.http, api.base, data["access_token"])
    device.user_id = api.user_id
    return device


async def bounded_gather(
    limit: int, coros: Iterable[Coroutine[Any, Any, Any]]
) -> list[Any]:
    """Run ``coros`` at most ``limit`` at a time; on a failure cancel the rest."""
    sem = asyncio.Semaphore(limit)

    async def one(coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            async with sem:
                return await coro
        finally:
            if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
                coro.close()  # never started: no "never awaited" warning

    tasks = [asyncio.ensure_future(one(c)) for c in coros]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class Recipient:
    """A client that gets sync responses and notes when expected messages
    (known by their body text) arrive; subclasses fetch the responses."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.since: str | None = None
        self.expected: dict[str, asyncio.Future[float]] = {}
        self.last_response = time.perf_counter()
        self.task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    def expect(self, body: str) -> asyncio.Future[float]:
        if self.error is not None:
            raise ScenarioUnavailable(f"a recipient failed: {self.error!r}")
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.expected[body] = fut
        return fut

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass

    def got(self, data: dict[str, Any]) -> None:
        """One sync response (``data`` as GET /sync returns it) arrived."""
        now = time.perf_counter()
        self.last_response = now
        self.since = str(data.get("next_batch", self.since))
        if not self.expected:
            return
        joined = (data.get("rooms") or {}).get("join") or {}
        for room in joined.values():
            for event in (room.get("timeline") or {}).get("events") or []:
                content = event.get("content")
                if not isinstance(content, dict):
                    continue
                fut = self.expected.pop(str(content.get("body")), None)
                if fut is not None and not fut.done():
                    fut.set_result(now)

    def fail(self, exc: BaseException) -> None:
        """The responses stopped: every waiter gets ``exc``."""
        self.error = exc
        for fut in self.expected.values():
            if not fut.done():
                fut.set_exception(exc)
        self.expected.clear()


class Syncer(Recipient):
    """A client long-polling /sync."""

    async def initial(self) -> None:
        self.since = (await self.api.sync(None, 0))["next_batch"]

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            while True:
                self.got(await self.api.sync(self.since, SYNC_TIMEOUT_MS))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the waiters
            self.fail(exc)


async def quiesce(syncers: Sequence[Recipient], quiet: float, limit: float) -> None:
    """Wait until no syncer got an answer for ``quiet`` s (at most ``limit`` s)."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        latest = max(s.last_response for s in syncers)
        if time.perf_counter() - latest >= quiet:
            return
        await asyncio.sleep(quiet / 3)


# ------------------------------------------------------------------- metering


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Meter:
    """Wall time, server CPU and this client's CPU across a block (and, on
    PostgreSQL, the CPU of the server's database backends)."""

    def __init__(self, pid: int, pg: bench_postgres.BackendCpu | None = None) -> None:
        self.pid = pid
        self.pg = pg
        self.wall = self.cpu = self.client = self.pg_cpu = 0.0

    def __enter__(self) -> Meter:
        self._pg = self.pg.snapshot() if self.pg else {}
        self._cpu = servers.cpu_seconds(self.pid)
        self._client = client_cpu()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = servers.cpu_seconds(self.pid) - self._cpu
        self.client = client_cpu() - self._client
        if self.pg:
            self.pg_cpu = self.pg.delta(self._pg, self.pg.snapshot())


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


# ------------------------------------------------------------------ scenarios


@dataclass
class Context:
    server: servers.Server
    http: aiohttp.ClientSession
    sizes: Sizes
    pid: int
    rooms_owner: Api | None = None
    owner_rooms: list[str] = field(default_factory=list)
    client_cpu: dict[str, float] = field(default_factory=dict)
    pg: bench_postgres.BackendCpu | None = None
    pg_cpu: dict[str, float] = field(default_factory=dict)

    async def register(self, name: str) -> Api:
        return await register(self.http, self.server.base_url, name)

    async def register_many(self, prefix: str, count: int) -> list[Api]:
        return await bounded_gather(
            8, (self.register(f"{prefix}{i}") for i in range(count))
        )

    def note(self, scenario: str, meter: Meter) -> None:
        self.client_cpu[scenario] = meter.client
        self.pg_cpu[scenario] = meter.pg_cpu
        log(
            f"  {scenario}: {meter.wall:.2f}s wall, server CPU {meter.cpu:.2f}s, "
            f"PostgreSQL CPU {meter.pg_cpu:.2f}s, bench client CPU {meter.client:.2f}s"
        )


Values = dict[str, float]


async def scenario_rooms(ctx: Context) -> Values:
    n = ctx.sizes.rooms
    owner = await ctx.register("owner")
    ctx.rooms_owner = owner
    log(f"  creating {n} rooms one after another")
    with Meter(ctx.pid, ctx.pg) as m:
        for _ in range(n):
            ctx.owner_rooms.append(await owner.create_room())
    ctx.note("rooms", m)
    return {"rooms_per_s": n / m.wall, "room_cpu_ms": m.cpu / n * 1000}


async def scenario_initial_sync(ctx: Context) -> Values:
    owner, rooms = ctx.rooms_owner, ctx.owner_rooms
    if owner is None or len(rooms) < ctx.sizes.rooms:
        raise ScenarioUnavailable("needs the rooms of the createRoom scenario")
    per_room = ctx.sizes.room_messages
    log(f"  sending {per_room} messages into each of {len(rooms)} rooms")
    await bounded_gather(
        4,
        (owner.send(room, f"history {j}") for room in rooms for j in range(per_room)),
    )
    walls: list[float] = []
    cpus: list[float] = []
    for run in range(ctx.sizes.initial_sync_runs):
        # A fresh login (new device) per run, as a new client would do: a
        # server may cache a device's sync answer (Synapse keeps one for
        # caches.sync_response_cache_duration, 2 minutes by default), and
        # repeating the same request would only measure that cache.
        device = await login(owner, PASSWORD)
        with Meter(ctx.pid, ctx.pg) as m:
            status, raw = await device.request(
                "GET",
                SYNC_PATH,
                endpoint=f"GET {SYNC_PATH}",
                timeout=300,
            )
        if status != 200:
            raise HttpError("GET /sync", status, raw)
        joined = (json.loads(raw).get("rooms") or {}).get("join") or {}
        if len(joined) < len(rooms):
            raise ScenarioUnavailable(
                f"initial /sync listed {len(joined)} of {len(rooms)} joined rooms"
            )
        walls.append(m.wall)
        cpus.append(m.cpu)
        log(
            f"  initial sync {run + 1}: {m.wall * 1000:.0f} ms, "
            f"server CPU {m.cpu * 1000:.0f} ms, {len(raw) / 1024:.0f} KiB"
        )
        ctx.client_cpu["initial"] = ctx.client_cpu.get("initial", 0) + m.client
    return {
        "initial_ms": statistics.median(walls) * 1000,
        "initial_first_ms": walls[0] * 1000,
        "initial_cpu_ms": statistics.median(cpus) * 1000,
    }


async def scenario_throughput(ctx: Context) -> Values:
    n, per = ctx.sizes.senders, ctx.sizes.messages
    senders = await ctx.register_many("sender", n)
    room = await senders[0].create_room()
    for s in senders[1:]:
        await s.join(room)
    await asyncio.gather(*(s.send(room, "warm-up") for s in senders))
    latencies: list[float] = []

    async def send_all(api: Api, who: int) -> None:
        for j in range(per):
            start = time.perf_counter()
            await api.send(room, f"throughput {who}/{j}")
            latencies.append(time.perf_counter() - start)

    log(f"  {n} senders x {per} messages, concurrently")
    with Meter(ctx.pid, ctx.pg) as m:
        await asyncio.gather(*(send_all(s, i) for i, s in enumerate(senders)))
    ctx.note("throughput", m)
    total = n * per
    return {
        "send_per_s": total / m.wall,
        "send_cpu_ms": m.cpu / total * 1000,
        "send_p50_ms": percentile(latencies, 50) * 1000,
        "send_p99_ms": percentile(latencies, 99) * 1000,
    }


async def scenario_delivery(ctx: Context) -> Values:
    k, wait = ctx.sizes.delivery_messages, ctx.sizes.wait_timeout
    sender = await ctx.register("dsender")
    receiver = await ctx.register("dreceiver")
    room = await sender.create_room()
    await receiver.join(room)
    syncer = Syncer(receiver)
    await syncer.initial()
    syncer.start()
    latencies: list[float] = []
    missed = 0
    try:
        await quiesce([syncer], 0.3, 5.0)
        log(f"  {k} messages, one at a time, to one long-polling receiver")
        with Meter(ctx.pid, ctx.pg) as m:
            for i in range(k):
                fut = syncer.expect(f"delivery {i}")
                start = time.perf_counter()
                await sender.send(room, f"delivery {i}")
                try:
                    seen = await asyncio.wait_for(fut, wait)
                    latencies.append(seen - start)
                except TimeoutError:
                    missed += 1
                    if missed > max(2, k // 10):
                        raise ScenarioUnavailable(
                            f"/sync did not deliver {missed} of {i + 1} messages "
                            f"within {wait:g}s"
                        ) from None
                await asyncio.sleep(ctx.sizes.spacing_ms / 1000)
        ctx.note("delivery", m)
    finally:
        await syncer.stop()
    values = {
        "delivery_p50_ms": percentile(latencies, 50) * 1000,
        "delivery_p99_ms": percentile(latencies, 99) * 1000,
        "delivery_cpu_ms": m.cpu / k * 1000,
    }
    if missed:
        values["delivery_missed"] = missed
    return values


async def scenario_fanout(ctx: Context) -> Values:
    count, wait = ctx.sizes.syncers, ctx.sizes.wait_timeout
    log(f"  registering {count} syncers")
    sender = await ctx.register("fsender")
    users = await ctx.register_many("fsyncer", count)
    room = await sender.create_room()
    log(f"  {count} users join one room")
    await bounded_gather(4, (u.join(room) for u in users))
    syncers = [Syncer(u) for u in users]
    log("  initial sync for every syncer")
    await bounded_gather(8, (s.initial() for s in syncers))
    for s in syncers:
        s.start()
    latencies: list[float] = []
    missed = 0
    rounds, warmup = ctx.sizes.rounds, ctx.sizes.warmup_rounds
    try:
        await quiesce(syncers, 0.5, 10.0)
        log(f"  {warmup} warm-up + {rounds} rounds, one message to {count} syncers")
        m = Meter(ctx.pid, ctx.pg)
        for r in range(warmup + rounds):
            await quiesce(syncers, 0.3, 5.0)
            if r == warmup:
                m.__enter__()
            body = f"fan-out {r}"
            futs = [s.expect(body) for s in syncers]
            start = time.perf_counter()
            await sender.send(room, body)
            done, pending = await asyncio.wait(futs, timeout=wait)
            for fut in done:
                if fut.exception() is not None:
                    raise fut.exception()  # type: ignore[misc]
            for fut in pending:
                fut.cancel()
            if r >= warmup:
                latencies.extend(f.result() - start for f in done)
                missed += len(pending)
            if missed > count * rounds // 10:
                raise ScenarioUnavailable(
                    f"/sync did not deliver to {missed} syncers within {wait:g}s"
                )
        m.__exit__()
        ctx.note("fanout", m)
    finally:
        await asyncio.gather(*(s.stop() for s in syncers))
    values = {
        "fanout_p50_ms": percentile(latencies, 50) * 1000,
        "fanout_p99_ms": percentile(latencies, 99) * 1000,
        "fanout_cpu_ms": m.cpu / rounds * 1000,
        "fanout_cpu_per_recipient_ms": m.cpu / rounds / count * 1000,
    }
    if missed:
        values["fanout_missed"] = missed
    return values


Scenario = Callable[[Context], Awaitable[Values]]
SCENARIOS: list[tuple[str, Scenario]] = [
    ("rooms", scenario_rooms),
    ("initial", scenario_initial_sync),
    ("throughput", scenario_throughput),
    ("delivery", scenario_delivery),
    ("fanout", scenario_fanout),
]


# -------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Metric:
    key: str
    scenario: str
    label: str
    better: str  # "higher" or "lower"
    digits: int = 1


PG_METRICS = [
    Metric(
        "send_pg_cpu_ms",
        "throughput",
        "send: PostgreSQL CPU per message, all backends (ms)",
        "lower",
        2,
    ),
    Metric(
        "send_all_cpu_ms",
        "throughput",
        "send: server + PostgreSQL CPU per message (ms)",
        "lower",
        2,
    ),
    Metric(
        "delivery_pg_cpu_ms",
        "delivery",
        "delivery: PostgreSQL CPU per message (ms)",
        "lower",
        2,
    ),
    Metric(
        "fanout_pg_cpu_per_recipient_ms",
        "fanout",
        "fan-out: PostgreSQL CPU per recipient (ms)",
        "lower",
        2,
    ),
]


def metrics(sizes: Sizes, postgres: bool = False) -> list[Metric]:
    """The table's rows; the PostgreSQL CPU rows only on PostgreSQL."""
    found = _metrics(sizes)
    if postgres:
        found += PG_METRICS
    return found


def _metrics(sizes: Sizes) -> list[Metric]:
    s = sizes
    return [
        Metric(
            "send_per_s",
            "throughput",
            f"send: throughput, {s.senders} senders x {s.messages} msgs (msgs/s)",
            "higher",
        ),
        Metric(
            "send_cpu_ms", "throughput", "send: server CPU per message (ms)", "lower", 2
        ),
        Metric(
            "send_p50_ms", "throughput", "send: latency p50 under load (ms)", "lower"
        ),
        Metric(
            "send_p99_ms", "throughput", "send: latency p99 under load (ms)", "lower"
        ),
        Metric(
            "delivery_p50_ms",
            "delivery",
            f"delivery: send-to-sync p50, {s.delivery_messages} msgs (ms)",
            "lower",
        ),
        Metric("delivery_p99_ms", "delivery", "delivery: p99 (ms)", "lower"),
        Metric(
            "delivery_cpu_ms",
            "delivery",
            "delivery: server CPU per message, send + sync (ms)",
            "lower",
            2,
        ),
        Metric(
            "initial_ms",
            "initial",
            f"initial sync: {s.rooms} rooms, median of {s.initial_sync_runs} (ms)",
            "lower",
        ),
        Metric(
            "initial_first_ms",
            "initial",
            "initial sync: first (cold) run (ms)",
            "lower",
        ),
        Metric(
            "initial_cpu_ms",
            "initial",
            "initial sync: server CPU per sync, median (ms)",
            "lower",
        ),
        Metric(
            "fanout_p50_ms",
            "fanout",
            f"fan-out: {s.syncers} syncers, {s.rounds} rounds, p50 (ms)",
            "lower",
        ),
        Metric("fanout_p99_ms", "fanout", "fan-out: p99 (ms)", "lower"),
        Metric(
            "fanout_cpu_ms",
            "fanout",
            "fan-out: server CPU per round (ms)",
            "lower",
        ),
        Metric(
            "fanout_cpu_per_recipient_ms",
            "fanout",
            "fan-out: server CPU per recipient (ms)",
            "lower",
            2,
        ),
        Metric(
            "rooms_per_s", "rooms", "createRoom: rooms created per second", "higher"
        ),
        Metric("room_cpu_ms", "rooms", "createRoom: server CPU per room (ms)", "lower"),
        Metric("rss_before_mib", "memory", "memory: RSS after start (MiB)", "lower", 0),
        Metric(
            "rss_after_mib", "memory", "memory: RSS after the run (MiB)", "lower", 0
        ),
        Metric("rss_peak_mib", "memory", "memory: peak RSS, VmHWM (MiB)", "lower", 0),
    ]


@dataclass
class TargetResult:
    target: str
    version: str = "?"
    values: Values = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    client_cpu: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def memory_values(pid: int, prefix: str) -> Values:
    mem = servers.memory_kib(pid)
    values = {f"rss_{prefix}_mib": mem["VmRSS"] / 1024}
    if prefix == "after":
        values["rss_peak_mib"] = mem["VmHWM"] / 1024
    return values


def pg_values(ctx: Context) -> Values:
    """PostgreSQL backend CPU per message (send, delivery) and per recipient
    (fan-out), from what the scenarios metered."""
    s = ctx.sizes
    units = {
        "throughput": ("send_pg_cpu_ms", s.senders * s.messages),
        "delivery": ("delivery_pg_cpu_ms", s.delivery_messages),
        "fanout": ("fanout_pg_cpu_per_recipient_ms", s.rounds * s.syncers),
    }
    return {
        key: ctx.pg_cpu[name] / count * 1000
        for name, (key, count) in units.items()
        if name in ctx.pg_cpu
    }


async def run_scenarios(
    server: servers.Server,
    sizes: Sizes,
    result: TargetResult,
    pg: bench_postgres.BackendCpu | None = None,
) -> None:
    assert server.pid is not None
    pid = server.pid
    result.values.update(memory_values(pid, "before"))
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        ctx = Context(server=server, http=http, sizes=sizes, pid=pid, pg=pg)
        for name, scenario in SCENARIOS:
            log(f"{server.name}: scenario {name}")
            try:
                values = await asyncio.wait_for(scenario(ctx), sizes.scenario_timeout)
            except EndpointMissing as exc:
                result.unavailable[name] = str(exc)
            except ScenarioUnavailable as exc:
                result.unavailable[name] = str(exc)
            except TimeoutError:
                result.unavailable[name] = (
                    f"timed out after {sizes.scenario_timeout:g}s"
                )
            except Exception as exc:  # noqa: BLE001 - report it, run the rest
                result.unavailable[name] = f"error: {type(exc).__name__}: {exc}"
            else:
                result.values.update(values)
                continue
            log(f"  {name}: n/a ({result.unavailable[name]})")
        result.client_cpu = ctx.client_cpu
        if pg is not None:
            result.values.update(pg_values(ctx))
            if "send_pg_cpu_ms" in result.values and "send_cpu_ms" in result.values:
                result.values["send_all_cpu_ms"] = (
                    result.values["send_cpu_ms"] + result.values["send_pg_cpu_ms"]
                )
    try:
        result.values.update(memory_values(pid, "after"))
    except OSError as exc:
        result.unavailable["memory"] = f"server gone: {exc}"


def run_target(target: str, sizes: Sizes, args: argparse.Namespace) -> TargetResult:
    result = TargetResult(target)
    started = time.monotonic()
    try:
        if args.postgres:
            name = bench_postgres.unique_name(f"sync_bench_{target}")
            with bench_postgres.database(args.postgres, name) as dsn:
                pg = bench_postgres.BackendCpu(args.postgres, name)
                try:
                    _run_target(target, sizes, args, result, dsn, pg)
                finally:
                    pg.close()
        else:
            _run_target(target, sizes, args, result, None, None)
    except Exception as exc:  # noqa: BLE001 - the other target still runs
        log(f"{target}: could not run: {exc}")
        for name, _ in SCENARIOS:
            result.unavailable.setdefault(name, f"server did not run: {exc}")
        result.unavailable.setdefault("memory", f"server did not run: {exc}")
    result.seconds = time.monotonic() - started
    log(f"{target}: done in {result.seconds:.0f}s")
    return result


def _run_target(
    target: str,
    sizes: Sizes,
    args: argparse.Namespace,
    result: TargetResult,
    dsn: str | None,
    pg: bench_postgres.BackendCpu | None,
) -> None:
    server: servers.Server
    if target == "chatly":
        settings = bench_postgres.chatly_settings(dsn) if dsn else ()
        server = servers.Chatly(log, args.keep_data, tuple(settings))
    else:
        extra: dict[str, Any] = {}
        if dsn:
            python = servers.ensure_synapse_venv(
                Path(args.synapse_venv), args.synapse_spec, log
            )
            bench_postgres.ensure_psycopg2(python)
            extra["database"] = bench_postgres.synapse_database(dsn)
        server = servers.Synapse(
            log, args.keep_data, Path(args.synapse_venv), args.synapse_spec, extra
        )
    with server:
        result.version = server.version
        asyncio.run(run_scenarios(server, sizes, result, pg))


def combine(runs: list[TargetResult]) -> TargetResult:
    """One result from repeated runs: the median of each figure."""
    if len(runs) == 1:
        return runs[0]
    out = TargetResult(runs[0].target, runs[-1].version)
    keys = dict.fromkeys(k for r in runs for k in r.values)
    for key in keys:
        found = [r.values[key] for r in runs if key in r.values]
        out.values[key] = statistics.median(found)
    for r in runs:
        for name, reason in r.unavailable.items():
            out.unavailable.setdefault(name, reason)
    for name in list(out.unavailable):
        failed = sum(name in r.unavailable for r in runs)
        if failed < len(runs):
            out.unavailable[name] = (
                f"failed in {failed} of {len(runs)} runs: " + (out.unavailable[name])
            )
    out.seconds = sum(r.seconds for r in runs)
    return out


# ---------------------------------------------------------------------- table


REASON_WIDTH = 60


def fmt(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def cell(result: TargetResult, metric: Metric) -> str:
    if metric.key in result.values:
        text = fmt(result.values[metric.key], metric.digits)
        missed = result.values.get(f"{metric.scenario}_missed")
        if missed and metric.key.endswith("p50_ms"):
            text += f" ({missed:.0f} missed)"
        return text
    reason = result.unavailable.get(metric.scenario, "not measured")
    if len(reason) > REASON_WIDTH:
        reason = reason[: REASON_WIDTH - 3] + "..."
    return f"n/a ({reason})"


def notes(results: list[TargetResult]) -> list[str]:
    """The full reason of every scenario that could not be measured."""
    return [
        f"{r.target} {name}: {reason}"
        for r in results
        for name, reason in r.unavailable.items()
    ]


def comparison(c: TargetResult, s: TargetResult, metric: Metric) -> tuple[str, str]:
    cv, sv = c.values.get(metric.key), s.values.get(metric.key)
    if cv is None or sv is None or sv == 0 or cv == 0:
        return "n/a", f"{metric.better} is better"
    ratio = cv / sv
    chatly_factor = ratio if metric.better == "higher" else 1 / ratio
    if 0.95 <= chatly_factor <= 1.05:
        verdict = "about even"
    elif chatly_factor > 1:
        verdict = f"Chatly {chatly_factor:.2f}x better"
    else:
        verdict = f"Synapse {1 / chatly_factor:.2f}x better"
    return f"{ratio:.2f}", f"{metric.better} is better: {verdict}"


def build_rows(
    results: list[TargetResult], sizes: Sizes, postgres: bool = False
) -> tuple[list[str], list[list[str]]]:
    by_target = {r.target: r for r in results}
    header = ["figure"] + [f"{r.target.capitalize()} {r.version}" for r in results]
    both = "chatly" in by_target and "synapse" in by_target
    if both:
        header += ["Chatly/Synapse", "better"]
    rows = []
    for metric in metrics(sizes, postgres):
        row = [metric.label] + [cell(r, metric) for r in results]
        if both:
            row += list(comparison(by_target["chatly"], by_target["synapse"], metric))
        else:
            row.append(f"{metric.better} is better")
        rows.append(row)
    if not both:
        header.append("better")
    return header, rows


def render_text(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for i, row in enumerate([header, *rows]):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def render_markdown(
    header: list[str],
    rows: list[list[str]],
    results: list[TargetResult],
    sizes: Sizes,
    repeat: int = 1,
    database: str = "SQLite",
) -> str:
    def md_row(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").strip() for c in cells) + " |"

    out = [
        f"Sync benchmark, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {database}, "
        "loopback; servers run one after the other; load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
        + (f"; median of {repeat} runs each." if repeat > 1 else "."),
        "",
        md_row(header),
        "|" + "|".join("---" for _ in header) + "|",
    ]
    out += [md_row(r) for r in rows]
    out.append("")
    out += [f"- n/a: {line}" for line in notes(results)]
    out.append("")
    out.append(
        "Ratio is Chatly/Synapse. Sizes: "
        + ", ".join(f"{k}={v}" for k, v in asdict(sizes).items())
        + "."
    )
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------ cli


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Scenarios:" + (__doc__ or "").split("Scenarios:", 1)[-1],
    )
    parser.add_argument(
        "--target", choices=("chatly", "synapse", "both"), default="both"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small smoke run (< 1 min)"
    )
    parser.add_argument("--markdown", metavar="PATH", help="also write the table here")
    parser.add_argument("--json", metavar="PATH", help="write raw results as JSON")
    parser.add_argument("--keep-data", action="store_true", help="keep data dirs")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const="host=127.0.0.1 port=5432 user=postgres",
        metavar="DSN",
        help="run both servers on PostgreSQL: a database of their own each on "
        "DSN (default host=127.0.0.1 port=5432 user=postgres), created and "
        "dropped by the run; adds the CPU of its backends",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each target N times (alternating) and report medians",
    )
    parser.add_argument(
        "--synapse-venv",
        default=str(servers.DEFAULT_SYNAPSE_VENV),
        help="virtualenv for Synapse (made on first use)",
    )
    parser.add_argument(
        "--synapse-spec",
        default="matrix-synapse",
        help="pip requirement installed into a new venv, e.g. matrix-synapse==1.163.2",
    )
    defaults = Sizes()
    for name, value in asdict(defaults).items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=type(value),
            default=None,
            help=f"default {value} ({getattr(QUICK, name)} with --quick)",
        )
    return parser.parse_args(argv)


def sizes_from(args: argparse.Namespace) -> Sizes:
    base = QUICK if args.quick else Sizes()
    chosen = asdict(base)
    for name in chosen:
        value = getattr(args, name)
        if value is not None:
            chosen[name] = value
    sizes = Sizes(**chosen)
    for name, value in asdict(sizes).items():
        if value <= 0 and name not in ("warmup_rounds", "spacing_ms"):
            raise SystemExit(f"--{name.replace('_', '-')} must be positive")
    return sizes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sizes_from(args)
    targets = ["chatly", "synapse"] if args.target == "both" else [args.target]
    runs: dict[str, list[TargetResult]] = {t: [] for t in targets}
    for run in range(args.repeat):
        if args.repeat > 1:
            log(f"run {run + 1} of {args.repeat}")
        for target in targets:  # one after the other, never at the same time
            runs[target].append(run_target(target, sizes, args))
    results = [combine(runs[t]) for t in targets]
    header, rows = build_rows(results, sizes, bool(args.postgres))
    print(render_text(header, rows))
    for line in notes(results):
        print(f"n/a: {line}")
    if args.markdown:
        Path(args.markdown).write_text(
            render_markdown(
                header,
                rows,
                results,
                sizes,
                args.repeat,
                "PostgreSQL" if args.postgres else "SQLite",
            )
        )
        log(f"markdown table written to {args.markdown}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "sizes": asdict(sizes),
                    "results": [asdict(r) for r in results],
                    "runs": {t: [asdict(r) for r in rs] for t, rs in runs.items()},
                },
                indent=2,
            )
        )
        log(f"raw results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
