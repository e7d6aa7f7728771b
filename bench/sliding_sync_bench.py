#!/usr/bin/env python3
"""Sliding-sync benchmark: simplified sliding sync (MSC4186) on Chatly and Synapse.

Starts a fresh Chatly (synctl) and then a fresh Synapse (the interop tier's
cached virtualenv, tests/interop/synapse.py), never both at once, both on
SQLite (or PostgreSQL with --postgres) and loopback, drives each with
``POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync`` and prints
one table with both servers' figures and the ratio Chatly/Synapse.

    python bench/sliding_sync_bench.py [--target chatly|synapse|both] [--quick]
                                       [--postgres [DSN]] [--repeat N]
                                       [--markdown PATH]

Set-up (not measured): one user creates ROOMS rooms, each with a name and one
message, one after another.

Scenarios:
  initial      the first request of a new connection (fresh device), one list
               with the 20 most recent rooms (ranges [[0, 19]]), timeline_limit
               1 and Element X's room-list required_state: median wall time of
               RUNS runs, the first (cold) one, and mean server CPU
  incremental  on that connection, RUNS times each: a quiet request (nothing
               happened since the last pos, timeout 0) and a request after one
               new message in a room outside the window (which moves to the
               top): median wall time and mean server CPU of each; and, on the
               same device and in the same rounds, a quiet incremental /sync
               (v3, timeout 0, from the last next_batch), the issue's yardstick
               for a quiet sliding-sync request
  long_lived   on one new connection, LONG requests each after one new message
               in a room of the account (rooms taken in turn): median wall time
               and mean server CPU of the first and of the last tenth of them
               (a connection must not get slower as it ages)
  memory       server VmRSS after start and after the run; peak (VmHWM)

Server CPU is utime+stime of the server process (all threads) from /proc. A
scenario that fails prints "n/a (reason)" and the rest still runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import bench_postgres  # noqa: E402
import servers  # noqa: E402
from sync_bench import (  # noqa: E402
    PASSWORD,
    SYNC_PATH,
    Api,
    HttpError,
    Meter,
    Metric,
    ScenarioUnavailable,
    TargetResult,
    Values,
    bounded_gather,
    cell,
    combine,
    comparison,
    log,
    login,
    memory_values,
    register,
    render_text,
)

SS_PATH = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
WINDOW = 20

# Element X's room list asks for these (its "all rooms" list).
ELEMENT_X_REQUIRED_STATE = [
    ["m.room.name", ""],
    ["m.room.avatar", ""],
    ["m.room.encryption", ""],
    ["m.room.topic", ""],
    ["m.room.join_rules", ""],
    ["m.room.canonical_alias", ""],
    ["m.room.create", ""],
    ["m.room.member", "$ME"],
    ["m.room.power_levels", ""],
    ["m.room.history_visibility", ""],
    ["m.room.pinned_events", ""],
]


@dataclass
class Sizes:
    rooms: int = 500
    runs: int = 10
    long: int = 200


QUICK = Sizes(rooms=40, runs=2, long=20)


def list_request() -> dict[str, Any]:
    return {
        "lists": {
            "all": {
                "ranges": [[0, WINDOW - 1]],
                "timeline_limit": 1,
                "required_state": ELEMENT_X_REQUIRED_STATE,
            }
        }
    }


async def sliding_sync(
    api: Api, pos: str | None, meter_pid: int
) -> tuple[dict[str, Any], Meter, int]:
    """One request (timeout 0); the answer, its meter and its size."""
    query = {"timeout": "0"}
    if pos is not None:
        query["pos"] = pos
    with Meter(meter_pid) as m:
        status, raw = await api.request(
            "POST", SS_PATH, list_request(), query, endpoint=f"POST {SS_PATH}"
        )
    if status != 200:
        raise HttpError(f"POST {SS_PATH}", status, raw)
    return json.loads(raw), m, len(raw)


@dataclass
class Context:
    http: aiohttp.ClientSession
    base: str
    pid: int
    sizes: Sizes
    owner: Api | None = None
    rooms: list[str] = field(default_factory=list)
    device: Api | None = None
    pos: str | None = None
    next_batch: str | None = None


async def set_up(ctx: Context) -> None:
    owner = await register(ctx.http, ctx.base, "ssbench")
    ctx.owner = owner
    log(f"  creating {ctx.sizes.rooms} rooms with a message each")
    started = time.monotonic()
    for i in range(ctx.sizes.rooms):
        ctx.rooms.append(await owner.create_room(name=f"Room {i}"))
    await bounded_gather(
        4, (owner.send(room, f"hello {i}") for i, room in enumerate(ctx.rooms))
    )
    log(f"  set-up took {time.monotonic() - started:.0f}s")


def check_window(answer: dict[str, Any], expected: int) -> None:
    rooms = answer.get("rooms") or {}
    listed = answer.get("lists", {}).get("all", {})
    if listed.get("count") != expected or len(rooms) < min(WINDOW, expected):
        raise ScenarioUnavailable(
            f"answer listed count={listed.get('count')} and {len(rooms)} rooms"
        )


async def scenario_initial(ctx: Context) -> Values:
    assert ctx.owner is not None
    walls: list[float] = []
    cpus: list[float] = []
    for run in range(ctx.sizes.runs):
        # A fresh device per run, as a new client: a new connection, no cache.
        device = await login(ctx.owner, PASSWORD)
        answer, m, size = await sliding_sync(device, None, ctx.pid)
        check_window(answer, len(ctx.rooms))
        walls.append(m.wall)
        cpus.append(m.cpu)
        ctx.device, ctx.pos = device, answer["pos"]
        log(
            f"  initial {run + 1}: {m.wall * 1000:.1f} ms, server CPU "
            f"{m.cpu * 1000:.0f} ms, {size / 1024:.0f} KiB"
        )
    return {
        "initial_ms": statistics.median(walls) * 1000,
        "initial_first_ms": walls[0] * 1000,
        # The CPU clock ticks in 10 ms: the mean over the runs, not a median.
        "initial_cpu_ms": statistics.mean(cpus) * 1000,
    }


def figures(name: str, samples: list[tuple[float, float]]) -> Values:
    """``<name>_ms`` (median wall time) and ``<name>_cpu_ms`` (mean server
    CPU: its clock ticks in 10 ms) of (wall, CPU) samples in seconds."""
    return {
        f"{name}_ms": statistics.median(w for w, _ in samples) * 1000,
        f"{name}_cpu_ms": statistics.mean(c for _, c in samples) * 1000,
    }


async def news(
    owner: Api, device: Api, room: str, pos: str | None, pid: int
) -> tuple[str, Meter]:
    """A message in ``room``, then the connection's next request (measured),
    which must carry the room; the new pos and the request's meter."""
    await owner.send(room, "news")
    answer, m, _ = await sliding_sync(device, pos, pid)
    if room not in (answer.get("rooms") or {}):
        raise ScenarioUnavailable("the new message's room was not in the answer")
    return str(answer["pos"]), m


async def v3_sync(api: Api, since: str | None, meter_pid: int) -> tuple[str, Meter]:
    """One /v3/sync (timeout 0); its next_batch and meter."""
    query = {"timeout": "0"}
    if since is not None:
        query["since"] = since
    with Meter(meter_pid) as m:
        answer = await api.call("GET", SYNC_PATH, None, query, "GET /sync")
    return str(answer["next_batch"]), m


async def scenario_incremental(ctx: Context) -> Values:
    if ctx.device is None or ctx.owner is None:
        raise ScenarioUnavailable("needs the connection of the initial scenario")
    device, owner = ctx.device, ctx.owner
    quiet: list[tuple[float, float]] = []
    busy: list[tuple[float, float]] = []
    v3: list[tuple[float, float]] = []
    # The same device's /sync stream, caught up (not measured).
    since, _ = await v3_sync(device, None, ctx.pid)
    since, _ = await v3_sync(device, since, ctx.pid)
    for run in range(ctx.sizes.runs):
        answer, m, _ = await sliding_sync(device, ctx.pos, ctx.pid)
        ctx.pos = answer["pos"]
        quiet.append((m.wall, m.cpu))
        since, m = await v3_sync(device, since, ctx.pid)
        v3.append((m.wall, m.cpu))
        # The oldest room of the account gets a message and moves to the top.
        room = ctx.rooms[run % len(ctx.rooms)]
        ctx.pos, m = await news(owner, device, room, ctx.pos, ctx.pid)
        busy.append((m.wall, m.cpu))
        # The /sync stream takes the message in too (not measured), so that
        # its next quiet request is as quiet as the sliding one.
        since, _ = await v3_sync(device, since, ctx.pid)
        log(
            f"  incremental {run + 1}: quiet {quiet[-1][0] * 1000:.1f} ms, "
            f"one message {m.wall * 1000:.1f} ms, "
            f"quiet /sync {v3[-1][0] * 1000:.1f} ms"
        )
    return {
        **figures("quiet", quiet),
        **figures("message", busy),
        **figures("v3_quiet", v3),
    }


async def scenario_long_lived(ctx: Context) -> Values:
    if ctx.owner is None:
        raise ScenarioUnavailable("needs the set-up")
    owner = ctx.owner
    device = await login(owner, PASSWORD)
    answer, _, _ = await sliding_sync(device, None, ctx.pid)
    pos = answer["pos"]
    samples: list[tuple[float, float]] = []
    for i in range(ctx.sizes.long):
        room = ctx.rooms[i % len(ctx.rooms)]
        pos, m = await news(owner, device, room, pos, ctx.pid)
        samples.append((m.wall, m.cpu))
    tenth = max(1, len(samples) // 10)
    first, last = samples[:tenth], samples[-tenth:]
    deciles = [
        statistics.median(w for w, _ in samples[i : i + tenth]) * 1000
        for i in range(0, len(samples), tenth)
    ]
    log(
        "  long-lived, median of each tenth (ms): "
        + " ".join(f"{d:.1f}" for d in deciles)
    )
    return {**figures("long_first", first), **figures("long_last", last)}


SCENARIOS = [
    ("initial", scenario_initial),
    ("incremental", scenario_incremental),
    ("long_lived", scenario_long_lived),
]


def metrics(sizes: Sizes) -> list[Metric]:
    window = f"{sizes.rooms} rooms, window {WINDOW}"
    runs = f"median of {sizes.runs}"
    tenth = max(1, sizes.long // 10)
    lived = "long-lived connection, one new message per request, requests"
    first = f"{lived} 1-{tenth} of {sizes.long}"
    last = f"{lived} {sizes.long - tenth + 1}-{sizes.long} of {sizes.long}"
    return [
        Metric(
            "initial_ms",
            "initial",
            f"first request: {window}, {runs} (ms)",
            "lower",
        ),
        Metric("initial_first_ms", "initial", "first request: cold run (ms)", "lower"),
        Metric(
            "initial_cpu_ms", "initial", "first request: server CPU, mean (ms)", "lower"
        ),
        Metric(
            "message_ms",
            "incremental",
            f"incremental, one new message: {runs} (ms)",
            "lower",
        ),
        Metric(
            "message_cpu_ms",
            "incremental",
            "incremental, one new message: server CPU, mean (ms)",
            "lower",
        ),
        Metric("quiet_ms", "incremental", f"incremental, quiet: {runs} (ms)", "lower"),
        Metric(
            "quiet_cpu_ms",
            "incremental",
            "incremental, quiet: server CPU, mean (ms)",
            "lower",
        ),
        Metric(
            "v3_quiet_ms",
            "incremental",
            f"incremental /sync, quiet: {runs} (ms)",
            "lower",
        ),
        Metric(
            "v3_quiet_cpu_ms",
            "incremental",
            "incremental /sync, quiet: server CPU, mean (ms)",
            "lower",
        ),
        Metric("long_first_ms", "long_lived", f"{first}: median (ms)", "lower"),
        Metric(
            "long_first_cpu_ms",
            "long_lived",
            f"{first}: server CPU, mean (ms)",
            "lower",
        ),
        Metric("long_last_ms", "long_lived", f"{last}: median (ms)", "lower"),
        Metric(
            "long_last_cpu_ms", "long_lived", f"{last}: server CPU, mean (ms)", "lower"
        ),
        Metric("rss_before_mib", "memory", "memory: RSS after start (MiB)", "lower", 0),
        Metric(
            "rss_after_mib", "memory", "memory: RSS after the run (MiB)", "lower", 0
        ),
        Metric("rss_peak_mib", "memory", "memory: peak RSS, VmHWM (MiB)", "lower", 0),
    ]


async def run_scenarios(
    server: servers.Server, sizes: Sizes, result: TargetResult
) -> None:
    assert server.pid is not None
    result.values.update(memory_values(server.pid, "before"))
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        ctx = Context(http, server.base_url, server.pid, sizes)
        await set_up(ctx)
        for name, scenario in SCENARIOS:
            log(f"{server.name}: scenario {name}")
            try:
                result.values.update(await scenario(ctx))
            except Exception as exc:  # noqa: BLE001 - report it, run the rest
                reason = (
                    str(exc)
                    if isinstance(exc, ScenarioUnavailable)
                    else f"error: {type(exc).__name__}: {exc}"
                )
                result.unavailable[name] = reason
                log(f"  {name}: n/a ({reason})")
    result.values.update(memory_values(server.pid, "after"))


def make_server(
    target: str, args: argparse.Namespace, dsn: str | None
) -> servers.Server:
    if target == "chatly":
        settings = bench_postgres.chatly_settings(dsn) if dsn else ()
        return servers.Chatly(log, args.keep_data, tuple(settings))
    from tests.interop.synapse import ensure_synapse

    python = ensure_synapse()
    extra: dict[str, Any] = {}
    if dsn:
        bench_postgres.ensure_psycopg2(python)
        extra["database"] = bench_postgres.synapse_database(dsn)
    return servers.Synapse(
        log, args.keep_data, python.parent.parent, extra_config=extra
    )


def run_target(target: str, sizes: Sizes, args: argparse.Namespace) -> TargetResult:
    result = TargetResult(target)
    started = time.monotonic()
    try:
        if args.postgres:
            name = bench_postgres.unique_name(f"ss_bench_{target}")
            with bench_postgres.database(args.postgres, name) as dsn:
                _run(target, sizes, args, dsn, result)
        else:
            _run(target, sizes, args, None, result)
    except Exception as exc:  # noqa: BLE001 - the other target still runs
        log(f"{target}: could not run: {exc}")
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        for name in [*(n for n, _ in SCENARIOS), "memory"]:
            result.unavailable.setdefault(name, f"server did not run: {first_line}")
    result.seconds = time.monotonic() - started
    log(f"{target}: done in {result.seconds:.0f}s")
    return result


def _run(
    target: str,
    sizes: Sizes,
    args: argparse.Namespace,
    dsn: str | None,
    result: TargetResult,
) -> None:
    with make_server(target, args, dsn) as server:
        result.version = server.version
        asyncio.run(run_scenarios(server, sizes, result))


def build_rows(
    results: list[TargetResult], sizes: Sizes
) -> tuple[list[str], list[list[str]]]:
    by_target = {r.target: r for r in results}
    both = "chatly" in by_target and "synapse" in by_target
    header = ["figure"] + [f"{r.target.capitalize()} {r.version}" for r in results]
    header += ["Chatly/Synapse", "better"] if both else ["better"]
    rows = []
    for metric in metrics(sizes):
        row = [metric.label] + [cell(r, metric) for r in results]
        if both:
            row += list(comparison(by_target["chatly"], by_target["synapse"], metric))
        else:
            row.append(f"{metric.better} is better")
        rows.append(row)
    return header, rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Scenarios:" + (__doc__ or "").split("Scenarios:", 1)[-1],
    )
    parser.add_argument(
        "--target", choices=("chatly", "synapse", "both"), default="both"
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=os.environ.get("HS_TEST_POSTGRES", "host=127.0.0.1 user=postgres"),
        metavar="DSN",
        help="run both on PostgreSQL, each in a throw-away database on the "
        "server of DSN (default $HS_TEST_POSTGRES)",
    )
    parser.add_argument("--markdown", metavar="PATH", help="also write the table here")
    parser.add_argument("--keep-data", action="store_true", help="keep data dirs")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each server N times (alternating) and report medians",
    )
    for name, value in asdict(Sizes()).items():
        parser.add_argument(
            "--" + name,
            type=int,
            default=None,
            help=f"default {value} ({getattr(QUICK, name)} with --quick)",
        )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = asdict(QUICK if args.quick else Sizes())
    chosen.update({k: getattr(args, k) for k in chosen if getattr(args, k)})
    sizes = Sizes(**chosen)
    targets = ["chatly", "synapse"] if args.target == "both" else [args.target]
    runs: dict[str, list[TargetResult]] = {t: [] for t in targets}
    for run in range(args.repeat):
        if args.repeat > 1:
            log(f"run {run + 1} of {args.repeat}")
        for target in targets:  # one after the other, never at the same time
            runs[target].append(run_target(target, sizes, args))
    results = [combine(runs[t]) for t in targets]
    header, rows = build_rows(results, sizes)
    print(render_text(header, rows))
    for r in results:
        for name, reason in r.unavailable.items():
            print(f"n/a: {r.target} {name}: {reason}")
    if args.markdown:
        md = [
            "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
            for row in [header, *rows]
        ]
        md.insert(1, "|" + "|".join("---" for _ in header) + "|")
        Path(args.markdown).write_text("\n".join(md) + "\n")
        log(f"markdown table written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
