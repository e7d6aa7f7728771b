#!/usr/bin/env python3
"""Fan-out benchmark: one message to every member of a big room, Chatly and
Synapse side by side, on SQLite and on PostgreSQL.

    python bench/fanout_bench.py [--target chatly|synapse|both]
                                 [--db sqlite|postgres|both] [--postgres DSN]
                                 [--members 20,300,1000] [--synapse-members 20,300]
                                 [--sockets 1000] [--rounds N] [--quick]
                                 [--profile DIR] [--markdown PATH] [--json PATH]

Scenarios (issue 17), each in a room of its own with users of its own:

  long-poll N   N members each long-poll GET /sync (timeout 30 s) while one
                more member sends one message per round: the latency from the
                start of the send until each member holds the message (p50,
                p99 over all rounds and members) and the server's CPU per
                recipient (CPU over the measured rounds / rounds / N), at each
                room size of --members (Synapse: --synapse-members)
  websocket N   Chatly only (Synapse has no WebSocket transport): N members
                each subscribed to the sync stream over Chatly's WebSocket
                (docs/websocket.md); the same figures

For every server and database one fresh server runs (never two at once); on
PostgreSQL each gets a database of its own on --postgres, created and dropped
by the run, and the CPU of its backends is measured too. The bench client is
one asyncio process (aiohttp); its own CPU per recipient is reported, because
client and server share the machine's cores. Server CPU is utime+stime from
/proc/<pid>/stat (10 ms ticks). Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import bench_postgres  # noqa: E402
import profiling  # noqa: E402
import servers  # noqa: E402
from fanout_clients import LongPoller, Recipient, Socket, run_rounds  # noqa: E402
from sync_bench import (  # noqa: E402
    Api,
    bounded_gather,
    client_cpu,
    log,
    percentile,
    register,
)

DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres"


@dataclass
class Sizes:
    members: tuple[int, ...] = (20, 300, 1000)
    synapse_members: tuple[int, ...] = (20, 300)
    sockets: int = 1000
    rounds: int = 10
    warmup: int = 1
    wait: float = 30.0
    scenario_timeout: float = 1500.0


QUICK = Sizes(
    members=(5, 20),
    synapse_members=(5, 20),
    sockets=20,
    rounds=3,
    wait=10.0,
    scenario_timeout=180.0,
)


@dataclass
class Run:
    """One server on one database: its figures per scenario."""

    target: str
    db: str
    version: str = "?"
    figures: dict[str, dict[str, float]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)


@dataclass
class Context:
    server: servers.Server
    http: aiohttp.ClientSession
    sizes: Sizes
    pg: bench_postgres.BackendCpu | None
    profile_dir: Path | None
    presence: str = "offline"
    profile_gil: bool = True
    profile_rate: int = 200


class Meter:
    """Server, PostgreSQL-backend and client CPU, and wall time, of a span."""

    def __init__(self, pid: int, pg: bench_postgres.BackendCpu | None) -> None:
        self.pid, self.pg = pid, pg
        self.server = self.reactor = self.postgres = self.client = self.wall = 0.0

    def start(self) -> None:
        self._pg = self.pg.snapshot() if self.pg else {}
        self._reactor = servers.main_thread_cpu_seconds(self.pid)
        self._server = servers.cpu_seconds(self.pid)
        self._client = client_cpu()
        self._wall = time.perf_counter()

    def stop(self) -> None:
        self.wall = time.perf_counter() - self._wall
        self.server = servers.cpu_seconds(self.pid) - self._server
        self.reactor = servers.main_thread_cpu_seconds(self.pid) - self._reactor
        self.client = client_cpu() - self._client
        if self.pg:
            self.postgres = self.pg.delta(self._pg, self.pg.snapshot())


async def members_in_room(
    ctx: Context, prefix: str, count: int
) -> tuple[Api, str, list[Api]]:
    """A sender and ``count`` members (all new users) in a new public room."""
    base = ctx.server.base_url
    log(f"  registering {count} members")
    sender = await register(ctx.http, base, f"{prefix}sender")
    members = await bounded_gather(
        8, (register(ctx.http, base, f"{prefix}m{i}") for i in range(count))
    )
    room = await sender.create_room()
    log(f"  {count} members join the room")
    await bounded_gather(4, (m.join(room) for m in members))
    return sender, room, members


async def fan_out(
    ctx: Context, label: str, recipients: list[Recipient], sender: Api, room: str
) -> dict[str, float]:
    """Start ``recipients``, run the rounds, meter them; the figures."""
    count = len(recipients)
    log(f"  {count} recipients start (initial sync, then listen)")
    await bounded_gather(16, (r.start() for r in recipients))
    assert ctx.server.pid is not None
    meter = Meter(ctx.server.pid, ctx.pg)
    sampler: list[profiling.Sampler] = []

    async def on_measured(starting: bool) -> None:
        if starting:
            if ctx.profile_dir is not None and ctx.server.name == "chatly":
                out = ctx.profile_dir / f"{label.replace(' ', '-')}.txt"
                try:
                    sampler.append(
                        profiling.Sampler(
                            ctx.server.pid or 0, out, ctx.profile_gil, ctx.profile_rate
                        )
                    )
                except RuntimeError as exc:
                    log(f"  not profiled: {exc}")
            meter.start()
        else:
            meter.stop()
            for s in sampler:
                s.stop()

    sizes = ctx.sizes
    log(f"  {sizes.warmup} warm-up + {sizes.rounds} rounds to {count} recipients")
    try:
        got = await run_rounds(
            sender,
            room,
            recipients,
            sizes.rounds,
            sizes.warmup,
            sizes.wait,
            label,
            on_measured,
        )
    finally:
        await asyncio.gather(*(r.stop() for r in recipients))
    per = sizes.rounds * count / 1000  # ms per recipient from seconds
    figures = {
        "p1_ms": percentile(got.latencies, 1) * 1000,
        "p50_ms": percentile(got.latencies, 50) * 1000,
        "p99_ms": percentile(got.latencies, 99) * 1000,
        "server_cpu_per_recipient_ms": meter.server / per,
        "main_thread_cpu_per_recipient_ms": meter.reactor / per,
        "client_cpu_per_recipient_ms": meter.client / per,
        "missed": float(got.missed),
    }
    if ctx.pg:
        figures["pg_cpu_per_recipient_ms"] = meter.postgres / per
    log(
        f"  {label}: p1 {figures['p1_ms']:.0f} ms,"
        f" p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms,"
        f" server CPU {meter.server:.2f}s (main thread {meter.reactor:.2f}s;"
        f" {figures['server_cpu_per_recipient_ms']:.2f}"
        f" ms/recipient), PostgreSQL {meter.postgres:.2f}s, client {meter.client:.2f}s"
        f" over {meter.wall:.1f}s; {got.missed} missed"
    )
    for s in sampler:
        summary = profiling.summarise(s.out)
        s.out.with_suffix(".summary.txt").write_text(summary)
        log(f"  profile: {s.out} (summary next to it)")
    return figures


async def long_poll(ctx: Context, count: int) -> dict[str, float]:
    sender, room, members = await members_in_room(ctx, f"lp{count}", count)
    pollers: list[Recipient] = [LongPoller(m, ctx.presence) for m in members]
    return await fan_out(ctx, f"long-poll {count}", pollers, sender, room)


async def websocket(ctx: Context, count: int) -> dict[str, float]:
    sender, room, members = await members_in_room(ctx, f"ws{count}", count)
    sockets: list[Recipient] = [Socket(m, ctx.presence) for m in members]
    return await fan_out(ctx, f"websocket {count}", sockets, sender, room)


Scenario = tuple[str, Callable[[Context], Any]]


def scenarios(target: str, sizes: Sizes) -> list[Scenario]:
    counts = sizes.members if target == "chatly" else sizes.synapse_members
    out: list[Scenario] = [
        (f"long-poll {n}", lambda ctx, n=n: long_poll(ctx, n)) for n in counts
    ]
    if target == "chatly" and sizes.sockets:
        n = sizes.sockets
        out.append((f"websocket {n}", lambda ctx, n=n: websocket(ctx, n)))
    return out


async def run_scenarios(ctx: Context, run: Run) -> None:
    for name, scenario in scenarios(run.target, ctx.sizes):
        log(f"{run.target} on {run.db}: {name}")
        try:
            run.figures[name] = await asyncio.wait_for(
                scenario(ctx), ctx.sizes.scenario_timeout
            )
        except TimeoutError:
            run.unavailable[name] = f"timed out after {ctx.sizes.scenario_timeout:g}s"
        except Exception as exc:  # noqa: BLE001 - report it, run the rest
            run.unavailable[name] = f"{type(exc).__name__}: {exc}"[:300]
        if name in run.unavailable:
            log(f"  {name}: n/a ({run.unavailable[name]})")


def make_server(target: str, dsn: str | None) -> servers.Server:
    if target == "chatly":
        settings = bench_postgres.chatly_settings(dsn) if dsn else ()
        return servers.Chatly(log, False, tuple(settings))
    from tests.interop.synapse import ensure_synapse

    python = ensure_synapse()
    extra: dict[str, Any] = {}
    if dsn:
        bench_postgres.ensure_psycopg2(python)
        extra["database"] = bench_postgres.synapse_database(dsn)
    return servers.Synapse(log, False, python.parent.parent, extra_config=extra)


async def drive(
    server: servers.Server,
    sizes: Sizes,
    args: argparse.Namespace,
    pg: bench_postgres.BackendCpu | None,
    run: Run,
) -> None:
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        ctx = Context(
            server=server,
            http=http,
            sizes=sizes,
            pg=pg,
            profile_dir=Path(args.profile) / run.db if args.profile else None,
            presence=args.presence,
            profile_gil=not args.profile_all_threads,
            profile_rate=args.profile_rate,
        )
        await run_scenarios(ctx, run)


def _serve(
    run: Run,
    sizes: Sizes,
    args: argparse.Namespace,
    dsn: str | None,
    pg: bench_postgres.BackendCpu | None,
) -> None:
    with make_server(run.target, dsn) as server:
        run.version = server.version
        asyncio.run(drive(server, sizes, args, pg, run))


def run_one(target: str, db: str, sizes: Sizes, args: argparse.Namespace) -> Run:
    run = Run(target, db)
    try:
        if db == "postgres":
            name = bench_postgres.unique_name(f"fanout_bench_{target}")
            with bench_postgres.database(args.postgres, name) as dsn:
                pg = bench_postgres.BackendCpu(args.postgres, name)
                try:
                    _serve(run, sizes, args, dsn, pg)
                finally:
                    pg.close()
        else:
            _serve(run, sizes, args, None, None)
    except Exception as exc:  # noqa: BLE001 - the other runs still go on
        log(f"{target} on {db}: could not run: {exc}")
        for name, _ in scenarios(target, sizes):
            run.unavailable.setdefault(name, f"server did not run: {exc}"[:300])
    return run


# ---------------------------------------------------------------------- table

ROWS = (
    ("p50_ms", "p50 (ms)", 0),
    ("p99_ms", "p99 (ms)", 0),
    ("server_cpu_per_recipient_ms", "server CPU per recipient (ms)", 2),
    ("main_thread_cpu_per_recipient_ms", "  of which its main thread (ms)", 2),
    ("pg_cpu_per_recipient_ms", "PostgreSQL CPU per recipient (ms)", 2),
    ("client_cpu_per_recipient_ms", "bench client CPU per recipient (ms)", 2),
)


def _order(name: str) -> tuple[int, int]:
    kind, _, n = name.partition(" ")
    return (kind == "websocket", int(n))


def _cell(run: Run | None, scenario: str, key: str, digits: int) -> str:
    if run is None:
        return ""
    found = run.figures.get(scenario, {})
    if key in found:
        text = f"{found[key]:,.{digits}f}"
        if key == "p50_ms" and found.get("missed"):
            text += f" ({found['missed']:.0f} missed)"
        return text
    if scenario in run.unavailable:
        return "n/a"
    return ""


def _ratio(c: Run | None, s: Run | None, scenario: str, key: str) -> str:
    cv = (c.figures.get(scenario, {}) if c else {}).get(key)
    sv = (s.figures.get(scenario, {}) if s else {}).get(key)
    return f"{cv / sv:.2f}" if cv and sv else ""


def build_rows(runs: list[Run]) -> tuple[list[str], list[list[str]]]:
    by = {(r.target, r.db): r for r in runs}
    dbs = list(dict.fromkeys(r.db for r in runs))
    targets = list(dict.fromkeys(r.target for r in runs))
    both = len(targets) == 2
    header = ["scenario", "figure"]
    for db in dbs:
        header += [f"{t.capitalize()} {db}" for t in targets]
        if both:
            header.append(f"Chatly/Synapse {db}")
    names = sorted({n for r in runs for n in (*r.figures, *r.unavailable)}, key=_order)
    rows = []
    for name in names:
        for key, label, digits in ROWS:
            cells = []
            for db in dbs:
                cells += [_cell(by.get((t, db)), name, key, digits) for t in targets]
                if both:
                    cells.append(
                        _ratio(
                            by.get(("chatly", db)), by.get(("synapse", db)), name, key
                        )
                    )
            if any(cells):
                rows.append([name, label, *cells])
    return header, rows


def flatness(runs: list[Run]) -> list[str]:
    """Server CPU per recipient at the biggest long-poll room over the smallest."""
    out = []
    for run in runs:
        sizes = sorted(_order(n)[1] for n in run.figures if n.startswith("long-poll "))
        if len(sizes) < 2:
            continue
        key = "server_cpu_per_recipient_ms"
        small = run.figures[f"long-poll {sizes[0]}"][key]
        big = run.figures[f"long-poll {sizes[-1]}"][key]
        if small:
            out.append(
                f"{run.target} on {run.db}: server CPU per recipient "
                f"{small:.2f} ms at {sizes[0]} members, {big:.2f} ms at "
                f"{sizes[-1]} ({big / small:.2f}x)"
            )
    return out


def render_text(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def render_markdown(header: list[str], rows: list[list[str]]) -> str:
    out = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------ cli


def _counts(text: str) -> tuple[int, ...]:
    counts = tuple(int(x) for x in text.split(",") if x.strip())
    if any(c <= 0 for c in counts):
        raise argparse.ArgumentTypeError("room sizes must be positive")
    return counts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Scenarios" + (__doc__ or "").split("Scenarios", 1)[-1],
    )
    parser.add_argument(
        "--target", choices=("chatly", "synapse", "both"), default="both"
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--postgres",
        default=DEFAULT_DSN,
        metavar="DSN",
        help=f"PostgreSQL server for --db postgres ({DEFAULT_DSN})",
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument(
        "--members", type=_counts, help="Chatly's long-poll room sizes (20,300,1000)"
    )
    parser.add_argument(
        "--synapse-members",
        type=_counts,
        help="Synapse's long-poll room sizes (20,300)",
    )
    parser.add_argument(
        "--sockets", type=int, help="WebSocket subscribers, 0 for none (1000)"
    )
    parser.add_argument("--rounds", type=int, help="measured rounds (10)")
    parser.add_argument(
        "--presence",
        choices=("offline", "online"),
        default="offline",
        help="set_presence of the recipients' syncs (offline: no presence storm "
        "while N members start syncing)",
    )
    parser.add_argument("--wait", type=float, help="seconds a round waits (30)")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="sample Chatly with py-spy during the measured rounds",
    )
    parser.add_argument(
        "--profile-all-threads",
        action="store_true",
        help="sample every busy thread, not only the one holding the GIL",
    )
    parser.add_argument(
        "--profile-rate",
        type=int,
        default=200,
        help="py-spy samples per second with --profile (200)",
    )
    parser.add_argument("--markdown", metavar="PATH", help="also write the table here")
    parser.add_argument("--json", metavar="PATH", help="write raw results as JSON")
    return parser.parse_args(argv)


def sizes_from(args: argparse.Namespace) -> Sizes:
    chosen = asdict(QUICK if args.quick else Sizes())
    for name in ("members", "synapse_members", "sockets", "rounds", "wait"):
        if getattr(args, name) is not None:
            chosen[name] = getattr(args, name)
    if chosen["rounds"] <= 0 or chosen["sockets"] < 0 or chosen["wait"] <= 0:
        raise SystemExit("--rounds and --wait must be positive, --sockets >= 0")
    return Sizes(**chosen)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sizes_from(args)
    targets = ["chatly", "synapse"] if args.target == "both" else [args.target]
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    load_before = os.getloadavg()
    runs = [run_one(t, db, sizes, args) for db in dbs for t in targets]
    load_after = os.getloadavg()
    header, rows = build_rows(runs)
    load = (
        f"load average (1, 5, 15 min) {' '.join(f'{x:.1f}' for x in load_before)} "
        f"before, {' '.join(f'{x:.1f}' for x in load_after)} after; "
        f"{os.cpu_count()} cores"
    )
    versions = ", ".join(f"{r.target} {r.version} on {r.db}" for r in runs)
    print(render_text(header, rows))
    print()
    for line in [*flatness(runs), load, versions]:
        print(line)
    for run in runs:
        for name, reason in run.unavailable.items():
            print(f"n/a: {run.target} on {run.db}, {name}: {reason}")
    if args.markdown:
        text = (
            render_markdown(header, rows)
            + "\n"
            + "\n".join(f"- {line}" for line in [*flatness(runs), load, versions])
        )
        Path(args.markdown).write_text(text + "\n")
        log(f"markdown table written to {args.markdown}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "sizes": asdict(sizes),
                    "load_before": load_before,
                    "load_after": load_after,
                    "runs": [asdict(r) for r in runs],
                },
                indent=2,
            )
        )
        log(f"raw results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
