#!/usr/bin/env python3
"""Fan-out over worker processes: 1,000 syncing clients spread over two client
readers, against the same clients on one process.

    python bench/workers_fanout_bench.py [--clients 1000] [--rounds 10]
        [--mode long-poll|websocket|both] [--layout one|two-readers|both]
        [--postgres DSN] [--redis URL] [--via-proxy] [--quick] [--json PATH]

Each layout is a real deployment started by tests/support/deployment.py
(``synctl start`` on a PostgreSQL database of its own, the machine's Redis
under a key prefix of its own):

  one           main alone (no workers), every client on it;
  two-readers   main and two client readers; the clients
                split half and half over the readers (directly, or through
                the generated nginx config with --via-proxy, where the
                access-token hash decides).

In both, N members of one room sync (long-poll GET /sync, or Chatly's
WebSocket sync stream) while one more member sends one message per round
through main: the latency from the start of the send to each member holding
the message (p50, p99 over all rounds and members), and the CPU per delivery:
the CPU of every server process (and of the database's PostgreSQL backends)
over the measured rounds divided by rounds x N. Also each process's own CPU
per delivery, its busiest database transactions per delivery (by name, from
its /metrics), and the idle overhead of a process. Progress goes to stderr,
the table to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import bench_postgres  # noqa: E402
import servers  # noqa: E402
from fanout_clients import LongPoller, Recipient, Socket, run_rounds  # noqa: E402
from sync_bench import Api, bounded_gather, log, percentile, register  # noqa: E402

from tests.support.deployment import Deployment  # noqa: E402
from tests.support.redis_keys import REDIS_URL, delete_prefixed, unique_prefix  # noqa: E402

DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres"
LAYOUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "one": (),
    # Main writes the events (as with no event persister); fan-out is the
    # readers' work, which is what is measured.
    "two-readers": (
        ("reader1", "client_reader"),
        ("reader2", "client_reader"),
    ),
}
READERS = ("reader1", "reader2")


@dataclass
class Sizes:
    clients: int = 1000
    rounds: int = 10
    warmup: int = 1
    wait: float = 60.0


QUICK = Sizes(clients=40, rounds=3, wait=20.0)


@dataclass
class Result:
    layout: str
    mode: str
    figures: dict[str, float] = field(default_factory=dict)
    per_process_ms: dict[str, float] = field(default_factory=dict)
    # process -> transaction name -> transactions per delivery (the busiest)
    txns_per_delivery: dict[str, dict[str, float]] = field(default_factory=dict)
    error: str = ""


class Cpu:
    """CPU seconds of every process of a deployment (and its PG backends)."""

    def __init__(self, deployment: Deployment, pg: bench_postgres.BackendCpu) -> None:
        self.deployment = deployment
        self.pg = pg
        self.names = ["main", *deployment.ports]

    def snapshot(self) -> dict[str, float]:
        found = {}
        for name in self.names:
            pid = self.deployment.pid(name)
            found[name] = servers.cpu_seconds(pid) if pid else 0.0
        found["postgres"] = sum(self.pg.snapshot().values())
        return found


_TXN_COUNT = re.compile(
    r'^homeserver_db_txn_seconds_count{name="([^"]+)"} (\S+)$', re.M
)


def transactions(deployment: Deployment) -> dict[str, dict[str, float]]:
    """process -> transaction name -> how many ran so far (its /metrics)."""
    found = {}
    for name in ["main", *deployment.ports]:
        with urllib.request.urlopen(deployment.url(name) + "/metrics") as answer:
            text = answer.read().decode()
        found[name] = {m[1]: float(m[2]) for m in _TXN_COUNT.finditer(text)}
    return found


def _per_delivery(
    before: dict[str, dict[str, float]],
    after: dict[str, dict[str, float]],
    deliveries: int,
    top: int = 8,
) -> dict[str, dict[str, float]]:
    """The ``top`` transaction names per process by how many ran per delivery."""
    out = {}
    for process, counts in after.items():
        ran = {
            name: (n - before.get(process, {}).get(name, 0.0)) / deliveries
            for name, n in counts.items()
        }
        busiest = sorted(ran.items(), key=lambda kv: -kv[1])[:top]
        out[process] = {name: per for name, per in busiest if per > 0}
    return out


def _base_for(deployment: Deployment, index: int, via_proxy: bool) -> str:
    if via_proxy or not deployment.ports.keys() & set(READERS):
        return deployment.proxy_url if via_proxy else deployment.url("main")
    return deployment.url(READERS[index % len(READERS)])


async def _members(
    http: aiohttp.ClientSession, deployment: Deployment, count: int, via_proxy: bool
) -> tuple[Api, str, list[Api]]:
    """A sender on main and ``count`` members spread over the readers."""
    main = deployment.url("main")
    log(f"  registering {count} members")
    sender = await register(http, main, "sender")
    members = await bounded_gather(
        8, (register(http, main, f"m{i}") for i in range(count))
    )
    room = await sender.create_room()
    log(f"  {count} members join the room")
    await bounded_gather(4, (m.join(room) for m in members))
    for index, member in enumerate(members):
        member.base = _base_for(deployment, index, via_proxy)
    return sender, room, members


async def _measure_mode(
    deployment: Deployment,
    pg: bench_postgres.BackendCpu,
    sizes: Sizes,
    mode: str,
    people: tuple[Api, str, list[Api]],
) -> tuple[dict[str, float], dict[str, float], dict[str, dict[str, float]]]:
    """One mode's rounds to every member; the figures, CPU by process and the
    busiest transactions by process."""
    sender, room, members = people
    kind: Callable[[Api, str], Recipient] = (
        LongPoller if mode == "long-poll" else Socket
    )
    recipients = [kind(m, "offline") for m in members]
    log(f"  {len(recipients)} {mode} recipients start")
    await bounded_gather(16, (r.start() for r in recipients))
    cpu = Cpu(deployment, pg)
    marks: list[dict[str, float]] = []
    walls: list[float] = []
    txns: list[dict[str, dict[str, float]]] = []

    async def on_measured(starting: bool) -> None:
        marks.append(cpu.snapshot())
        walls.append(time.perf_counter())
        txns.append(await asyncio.to_thread(transactions, deployment))

    try:
        got = await run_rounds(
            sender,
            room,
            recipients,
            sizes.rounds,
            sizes.warmup,
            sizes.wait,
            mode,
            on_measured,
        )
    finally:
        await asyncio.gather(*(r.stop() for r in recipients))
    deliveries = sizes.rounds * len(members)
    spent = {name: marks[1][name] - marks[0][name] for name in marks[0]}
    server = sum(v for k, v in spent.items() if k != "postgres")
    figures = {
        "p50_ms": percentile(got.latencies, 50) * 1000,
        "p99_ms": percentile(got.latencies, 99) * 1000,
        "cpu_per_delivery_ms": sum(spent.values()) * 1000 / deliveries,
        "server_cpu_per_delivery_ms": server * 1000 / deliveries,
        "missed": float(got.missed),
        "wall_s": walls[1] - walls[0],
    }
    by_process = {name: s * 1000 / deliveries for name, s in spent.items()}
    return figures, by_process, _per_delivery(txns[0], txns[1], deliveries)


async def _run_modes(
    deployment: Deployment,
    pg: bench_postgres.BackendCpu,
    sizes: Sizes,
    modes: list[str],
    args: argparse.Namespace,
    layout: str,
) -> list[Result]:
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    results = []
    async with aiohttp.ClientSession(connector=connector) as http:
        people = await _members(http, deployment, sizes.clients, args.via_proxy)
        for mode in modes:
            result = Result(layout, mode)
            log(f"{layout}: {mode} with {sizes.clients} clients")
            try:
                (
                    result.figures,
                    result.per_process_ms,
                    result.txns_per_delivery,
                ) = await _measure_mode(deployment, pg, sizes, mode, people)
                log(f"  {result.figures}")
            except Exception as exc:  # noqa: BLE001 - report, go on
                result.error = f"{type(exc).__name__}: {exc}"[:300]
                log(f"  n/a: {result.error}")
            results.append(result)
    return results


def _idle_overhead(deployment: Deployment, seconds: float = 10.0) -> dict[str, float]:
    """Each process's CPU, as % of a core, while nothing happens."""
    names = ["main", *deployment.ports]
    pids = {n: deployment.pid(n) for n in names}
    before = {n: servers.cpu_seconds(p) for n, p in pids.items() if p}
    time.sleep(seconds)
    return {
        n: (servers.cpu_seconds(p) - before[n]) / seconds * 100
        for n, p in pids.items()
        if p
    }


def run_layout(
    layout: str, modes: list[str], sizes: Sizes, args: argparse.Namespace
) -> list[Result]:
    results = []
    name = bench_postgres.unique_name(f"workers_fanout_{layout.replace('-', '_')}")
    prefix = unique_prefix()
    with (
        bench_postgres.database(args.postgres, name) as dsn,
        tempfile.TemporaryDirectory() as tmp,
    ):
        pg = bench_postgres.BackendCpu(args.postgres, name)
        deployment = Deployment(
            Path(tmp),
            dsn=dsn,
            redis_url=args.redis,
            redis_prefix=prefix,
            instances=LAYOUTS[layout],
        )
        try:
            log(f"{layout}: starting the deployment")
            deployment.start()
            idle = _idle_overhead(deployment)
            log(f"  idle CPU (% of a core): {idle}")
            results = asyncio.run(
                _run_modes(deployment, pg, sizes, modes, args, layout)
            )
            for result in results:
                result.figures.update({f"idle_{k}_pct": v for k, v in idle.items()})
        finally:
            deployment.stop()
            pg.close()
            import redis

            client = redis.Redis.from_url(args.redis)
            delete_prefixed(client, prefix)
            client.close()
    return results


def table(results: list[Result]) -> str:
    rows = [
        ("p50_ms", "p50 delivery (ms)", 0),
        ("p99_ms", "p99 delivery (ms)", 0),
        ("cpu_per_delivery_ms", "CPU per delivery, all (ms)", 3),
        ("server_cpu_per_delivery_ms", "  of which Chatly processes (ms)", 3),
        ("missed", "missed deliveries", 0),
    ]
    head = "| | " + " | ".join(f"{r.layout}, {r.mode}" for r in results) + " |"
    lines = [head, "|---" * (len(results) + 1) + "|"]
    for key, label, digits in rows:
        cells = [
            f"{r.figures[key]:.{digits}f}" if key in r.figures else "n/a"
            for r in results
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for r in results:
        if r.per_process_ms:
            parts = ", ".join(f"{k} {v:.3f}" for k, v in r.per_process_ms.items())
            lines.append(
                f"\n{r.layout}, {r.mode}: CPU per delivery by process (ms): {parts}"
            )
        for process, busiest in r.txns_per_delivery.items():
            parts = ", ".join(f"{name} {per:.3f}" for name, per in busiest.items())
            lines.append(
                f"\n{r.layout}, {r.mode}: {process}'s transactions per delivery: "
                + (parts or "none")
            )
        if r.error:
            lines.append(f"\n{r.layout}, {r.mode}: n/a ({r.error})")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=Sizes.clients)
    parser.add_argument("--rounds", type=int, default=Sizes.rounds)
    parser.add_argument(
        "--mode", choices=["long-poll", "websocket", "both"], default="both"
    )
    parser.add_argument(
        "--layout", choices=["one", "two-readers", "both"], default="both"
    )
    parser.add_argument("--postgres", default=DEFAULT_DSN)
    parser.add_argument("--redis", default=REDIS_URL)
    parser.add_argument("--via-proxy", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = QUICK if args.quick else Sizes(clients=args.clients, rounds=args.rounds)
    modes = ["long-poll", "websocket"] if args.mode == "both" else [args.mode]
    layouts = ["one", "two-readers"] if args.layout == "both" else [args.layout]
    results: list[Result] = []
    for layout in layouts:
        results += run_layout(layout, modes, sizes, args)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
