#!/usr/bin/env python3
"""Media benchmark: upload, download and thumbnails on Chatly and Synapse.

Starts a fresh Chatly (synctl) and then a fresh Synapse (the interop tier's
cached virtualenv, tests/interop/synapse.py), never both at once, each with its
own media store on local disk and SQLite (or PostgreSQL with --postgres), drives
each over the client-server API on loopback and prints one table with both
servers' figures and the ratio Chatly/Synapse.

    python bench/media_bench.py [--target chatly|synapse|both] [--quick]
                                [--postgres [DSN]] [--repeat N]
                                [--markdown PATH]

Scenarios:
  upload     FILES different files of 1 MiB each (random bytes), CONCURRENCY
             at a time, POST /_matrix/media/v3/upload: MiB/s, latency p50/p99,
             server CPU per upload
  download   each of them downloaded ROUNDS times, CONCURRENCY at a time, GET
             /_matrix/client/v1/media/download: MiB/s, p50/p99, CPU per download
  thumbnail  IMAGES fresh images of each kind (a 2048x1536 JPEG photo, a
             1920x1080 PNG screenshot), one at a time: the upload (both servers
             make the configured thumbnail sizes on upload), then GET
             /_matrix/client/v1/media/thumbnail once each for two configured
             sizes (96x96 crop, 640x480 scale) and two others (200x200 crop,
             1000x750 scale), which both servers make on request because the
             benchmark turns dynamic_thumbnails on (--no-dynamic-thumbnails:
             each server's default, answering with the closest configured
             size): median latency and server CPU of each
  memory     server VmRSS after start and after the run; peak (VmHWM)

Server CPU is utime+stime of the server process (all threads) from /proc. A
scenario that fails prints "n/a (reason)" and the rest still runs.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import bench_postgres  # noqa: E402
import servers  # noqa: E402
from media_inputs import Inputs  # noqa: E402
from sync_bench import (  # noqa: E402
    EndpointMissing,
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
    memory_values,
    percentile,
    register,
    render_text,
)

UPLOAD = "/_matrix/media/v3/upload"
CLIENT_MEDIA = "/_matrix/client/v1/media"
# (label, width, height, method): two configured sizes (made on upload), two
# others (made on request with dynamic thumbnails).
THUMBNAILS = (
    ("crop96", 96, 96, "crop"),
    ("scale640", 640, 480, "scale"),
    ("crop200", 200, 200, "crop"),
    ("scale1000", 1000, 750, "scale"),
)


@dataclass
class Sizes:
    files: int = 64
    concurrency: int = 4
    rounds: int = 2
    images: int = 4


QUICK = Sizes(files=8, concurrency=4, rounds=1, images=1)


# ------------------------------------------------------------------- client


class MediaClient:
    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http = http
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}

    async def upload(self, data: bytes, content_type: str, name: str) -> str:
        async with self.http.post(
            f"{self.base}{UPLOAD}?filename={name}",
            data=data,
            headers={**self.headers, "Content-Type": content_type},
        ) as resp:
            body = await resp.read()
            if resp.status != 200:
                if resp.status in (404, 405):
                    raise EndpointMissing(f"POST {UPLOAD}")
                raise HttpError(f"POST {UPLOAD}", resp.status, body)
            uri: str = (await resp.json())["content_uri"]
        return uri.removeprefix("mxc://")

    async def get(self, path: str) -> tuple[bytes, str]:
        async with self.http.get(self.base + path, headers=self.headers) as resp:
            body = await resp.read()
            if resp.status != 200:
                if resp.status in (404, 405) and b"M_UNRECOGNIZED" in body:
                    raise EndpointMissing(f"GET {path.split('?')[0]}")
                raise HttpError(f"GET {path}", resp.status, body)
            return body, resp.headers.get("Content-Type", "")


async def timed(coro: Awaitable[Any], into: list[float]) -> Any:
    start = time.perf_counter()
    result = await coro
    into.append(time.perf_counter() - start)
    return result


def ms(seconds: float) -> float:
    return seconds * 1000


# ---------------------------------------------------------------- scenarios


@dataclass
class Context:
    client: MediaClient
    pid: int
    sizes: Sizes
    inputs: Inputs
    uploaded: list[tuple[str, bytes]]


async def scenario_upload(ctx: Context) -> Values:
    first, *files = ctx.inputs.files
    await ctx.client.upload(first, "application/octet-stream", "warmup.bin")
    latencies: list[float] = []

    async def one(i: int, data: bytes) -> None:
        uri = await timed(
            ctx.client.upload(data, "application/octet-stream", f"f{i}.bin"),
            latencies,
        )
        ctx.uploaded.append((uri, data))

    with Meter(ctx.pid) as m:
        await bounded_gather(
            ctx.sizes.concurrency, (one(i, d) for i, d in enumerate(files))
        )
    log(f"  upload: {m.wall:.2f}s wall, server CPU {m.cpu:.2f}s")
    return {
        "upload_mib_s": len(files) / m.wall,
        "upload_p50_ms": ms(percentile(latencies, 50)),
        "upload_p99_ms": ms(percentile(latencies, 99)),
        "upload_cpu_ms": ms(m.cpu / len(files)),
    }


async def scenario_download(ctx: Context) -> Values:
    if not ctx.uploaded:
        raise ScenarioUnavailable("needs the files of the upload scenario")
    latencies: list[float] = []

    async def one(uri: str, data: bytes) -> None:
        body, _ = await timed(
            ctx.client.get(f"{CLIENT_MEDIA}/download/{uri}"), latencies
        )
        if body != data:
            raise ScenarioUnavailable(f"download of {uri} returned other bytes")

    jobs = [item for _ in range(ctx.sizes.rounds) for item in ctx.uploaded]
    with Meter(ctx.pid) as m:
        await bounded_gather(ctx.sizes.concurrency, (one(u, d) for u, d in jobs))
    log(f"  download: {m.wall:.2f}s wall, server CPU {m.cpu:.2f}s")
    return {
        "download_mib_s": len(jobs) / m.wall,
        "download_p50_ms": ms(percentile(latencies, 50)),
        "download_p99_ms": ms(percentile(latencies, 99)),
        "download_cpu_ms": ms(m.cpu / len(jobs)),
    }


async def scenario_thumbnail(ctx: Context) -> Values:
    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}

    def note(key: str, m: Meter) -> None:
        walls.setdefault(key, []).append(m.wall)
        cpus.setdefault(key, []).append(m.cpu)

    for kind, images in ctx.inputs.images.items():
        for i, data in enumerate(images):
            with Meter(ctx.pid) as m:
                uri = await ctx.client.upload(data, f"image/{kind}", f"i{i}.{kind}")
            note(f"{kind}_upload", m)
            for label, width, height, method in THUMBNAILS:
                query = f"width={width}&height={height}&method={method}"
                with Meter(ctx.pid) as m:
                    body, ctype = await ctx.client.get(
                        f"{CLIENT_MEDIA}/thumbnail/{uri}?{query}"
                    )
                note(f"{kind}_{label}", m)
                if i == 0:
                    got = Image.open(io.BytesIO(body))
                    log(f"  {kind} {label}: {got.size[0]}x{got.size[1]} {ctype}")
    values: Values = {}
    for key in walls:
        values[f"thumb_{key}_ms"] = ms(statistics.median(walls[key]))
        values[f"thumb_{key}_cpu_ms"] = ms(statistics.median(cpus[key]))
    return values


Scenario = Callable[[Context], Awaitable[Values]]
SCENARIOS: list[tuple[str, Scenario]] = [
    ("upload", scenario_upload),
    ("download", scenario_download),
    ("thumbnail", scenario_thumbnail),
]


def metrics(sizes: Sizes) -> list[Metric]:
    c = sizes.concurrency
    rows = [
        Metric(
            "upload_mib_s", "upload", f"upload 1 MiB, {c} at a time (MiB/s)", "higher"
        ),
        Metric("upload_p50_ms", "upload", "upload: latency p50 (ms)", "lower"),
        Metric("upload_p99_ms", "upload", "upload: latency p99 (ms)", "lower"),
        Metric("upload_cpu_ms", "upload", "upload: server CPU per file (ms)", "lower"),
        Metric(
            "download_mib_s",
            "download",
            f"download 1 MiB, {c} at a time (MiB/s)",
            "higher",
        ),
        Metric("download_p50_ms", "download", "download: latency p50 (ms)", "lower"),
        Metric("download_p99_ms", "download", "download: latency p99 (ms)", "lower"),
        Metric(
            "download_cpu_ms", "download", "download: server CPU per file (ms)", "lower"
        ),
    ]
    names = {"jpeg": "2048x1536 JPEG", "png": "1920x1080 PNG"}
    for kind, name in names.items():
        rows.append(
            Metric(
                f"thumb_{kind}_upload_ms",
                "thumbnail",
                f"{name}: upload incl. thumbnails (ms)",
                "lower",
            )
        )
        rows.append(
            Metric(
                f"thumb_{kind}_upload_cpu_ms",
                "thumbnail",
                f"{name}: upload, server CPU (ms)",
                "lower",
            )
        )
        for label, width, height, method in THUMBNAILS:
            made = "configured" if label in ("crop96", "scale640") else "other size"
            what = f"{name}: thumbnail {width}x{height} {method}, {made}"
            rows.append(
                Metric(f"thumb_{kind}_{label}_ms", "thumbnail", f"{what} (ms)", "lower")
            )
            rows.append(
                Metric(
                    f"thumb_{kind}_{label}_cpu_ms",
                    "thumbnail",
                    f"{what}, server CPU (ms)",
                    "lower",
                )
            )
    rows += [
        Metric("rss_before_mib", "memory", "memory: RSS after start (MiB)", "lower", 0),
        Metric(
            "rss_after_mib", "memory", "memory: RSS after the run (MiB)", "lower", 0
        ),
        Metric("rss_peak_mib", "memory", "memory: peak RSS, VmHWM (MiB)", "lower", 0),
    ]
    return rows


# ------------------------------------------------------------------ running


async def run_scenarios(
    server: servers.Server, sizes: Sizes, inputs: Inputs, result: TargetResult
) -> None:
    assert server.pid is not None
    result.values.update(memory_values(server.pid, "before"))
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        api = await register(http, server.base_url, "mediabench")
        assert api.token is not None
        client = MediaClient(http, server.base_url, api.token)
        ctx = Context(client, server.pid, sizes, inputs, [])
        for name, scenario in SCENARIOS:
            log(f"{server.name}: scenario {name}")
            try:
                result.values.update(await scenario(ctx))
            except Exception as exc:  # noqa: BLE001 - report it, run the rest
                reason = (
                    str(exc)
                    if isinstance(exc, ScenarioUnavailable)
                    else (f"error: {type(exc).__name__}: {exc}")
                )
                result.unavailable[name] = reason
                log(f"  {name}: n/a ({reason})")
    result.values.update(memory_values(server.pid, "after"))


def make_server(
    target: str, args: argparse.Namespace, dsn: str | None
) -> servers.Server:
    if target == "chatly":
        settings = (
            ("media.dynamic_thumbnails", str(args.dynamic_thumbnails).lower()),
            *(bench_postgres.chatly_settings(dsn) if dsn else ()),
        )
        return servers.Chatly(log, args.keep_data, settings)
    from tests.interop.synapse import ensure_synapse

    python = ensure_synapse()
    extra: dict[str, Any] = {"dynamic_thumbnails": args.dynamic_thumbnails}
    if dsn:
        bench_postgres.ensure_psycopg2(python)
        extra["database"] = bench_postgres.synapse_database(dsn)
    return servers.Synapse(
        log, args.keep_data, python.parent.parent, extra_config=extra
    )


def run_target(
    target: str, sizes: Sizes, inputs: Inputs, args: argparse.Namespace
) -> TargetResult:
    result = TargetResult(target)
    started = time.monotonic()
    try:
        if args.postgres:
            name = bench_postgres.unique_name(f"media_bench_{target}")
            with bench_postgres.database(args.postgres, name) as dsn:
                _run(target, sizes, inputs, args, dsn, result)
        else:
            _run(target, sizes, inputs, args, None, result)
    except Exception as exc:  # noqa: BLE001 - the other target still runs
        log(f"{target}: could not run: {exc}")
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        for name, _ in [*SCENARIOS, ("memory", None)]:
            result.unavailable.setdefault(name, f"server did not run: {first_line}")
    result.seconds = time.monotonic() - started
    log(f"{target}: done in {result.seconds:.0f}s")
    return result


def _run(
    target: str,
    sizes: Sizes,
    inputs: Inputs,
    args: argparse.Namespace,
    dsn: str | None,
    result: TargetResult,
) -> None:
    with make_server(target, args, dsn) as server:
        result.version = server.version
        asyncio.run(run_scenarios(server, sizes, inputs, result))


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
    parser.add_argument(
        "--no-dynamic-thumbnails",
        dest="dynamic_thumbnails",
        action="store_false",
        help="leave dynamic_thumbnails off (both servers' default)",
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
    log("making the files and images")
    inputs = Inputs.make(sizes)
    targets = ["chatly", "synapse"] if args.target == "both" else [args.target]
    runs: dict[str, list[TargetResult]] = {t: [] for t in targets}
    for run in range(args.repeat):
        if args.repeat > 1:
            log(f"run {run + 1} of {args.repeat}")
        for target in targets:  # one after the other, never at the same time
            runs[target].append(run_target(target, sizes, inputs, args))
    results = [combine(runs[t]) for t in targets]
    header, rows = build_rows(results, sizes)
    table = render_text(header, rows)
    print(table)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
