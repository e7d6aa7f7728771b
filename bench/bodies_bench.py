#!/usr/bin/env python3
"""Request-body microbenchmark: in-process sends, and body validation alone.

Times ``PUT /rooms/{roomId}/send/m.room.message/{txnId}`` through the real
HTTP parsing of an in-process server (tests/support/server.py: fake reactor, SQLite
on tmpfs run inline), so the figure is the request path's CPU cost with no network or
thread hops. With the typed request bodies it also times
``validate_body(CreateRoomBody, ...)`` on its own.

    python bench/bodies_bench.py [--sends 2000] [--validations 20000]

prints one JSON line for the code on PYTHONPATH. To compare two checkouts,
run them interleaved, several rounds, each in a fresh process:

    python bench/bodies_bench.py --compare ../main . --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

CREATE_ROOM_BODY: dict[str, Any] = {
    "preset": "private_chat",
    "visibility": "private",
    "name": "Benchmark room",
    "topic": "What the typed bodies cost",
    "invite": ["@bob:test", "@carol:test"],
    "is_direct": False,
    "creation_content": {"m.federate": True},
    "power_level_content_override": {"events_default": 0},
    "initial_state": [
        {"type": "m.room.encryption", "content": {"algorithm": "m.megolm.v1"}},
        {"type": "m.room.guest_access", "content": {"guest_access": "forbidden"}},
        {
            "type": "m.room.history_visibility",
            "content": {"history_visibility": "joined"},
        },
    ],
}


def time_sends(sends: int) -> dict[str, float]:
    """Mean and median microseconds per in-process send, after a warm-up."""
    from homeserver.storage.engines import SqliteEngine
    from tests.support.server import TestServer

    # On tmpfs where there is one, so fsync noise does not drown the CPU cost.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        server = TestServer(SqliteEngine(f"{tmp}/bench.db"), None, Path(tmp))
        _, token = server.register("alice")
        resp = server.request("POST", "/_matrix/client/v3/createRoom", {}, token=token)
        room = quote(resp.json["room_id"])
        body = {"msgtype": "m.text", "body": "hello, benchmark"}
        path = f"/_matrix/client/v3/rooms/{room}/send/m.room.message/"

        def send(txn: str) -> float:
            start = time.perf_counter()
            resp = server.request("PUT", path + txn, body, token=token)
            elapsed = time.perf_counter() - start
            assert resp.code == 200, resp.json
            return elapsed

        for i in range(200):
            send(f"warm{i}")
        cpu_start = time.process_time()
        times = [send(f"t{i}") for i in range(sends)]
        cpu = time.process_time() - cpu_start
    return {
        # CPU time per send: what this process spent, whatever else the
        # machine runs (the wall-clock figures move with other load).
        "send_cpu_us": cpu / sends * 1e6,
        "send_median_us": statistics.median(times) * 1e6,
        "send_mean_us": statistics.fmean(times) * 1e6,
    }


def time_validation(validations: int) -> dict[str, float]:
    """CPU microseconds per ``validate_body`` of a createRoom body, valid and
    invalid (typed bodies only)."""
    try:
        from homeserver.api.client.bodies.rooms import CreateRoomBody
        from homeserver.api.http.body import validate_body
    except ImportError:
        return {}
    for _ in range(1000):
        validate_body(CreateRoomBody, CREATE_ROOM_BODY)
    start = time.process_time()
    for _ in range(validations):
        validate_body(CreateRoomBody, CREATE_ROOM_BODY)
    per = (time.process_time() - start) / validations
    bad = {**CREATE_ROOM_BODY, "initial_state": [{"type": "x", "state_key": 5}]}
    start = time.process_time()
    for _ in range(validations):
        try:
            validate_body(CreateRoomBody, bad)
        except Exception:  # noqa: BLE001 - the MatrixError is what is timed
            pass
    failing = (time.process_time() - start) / validations
    return {
        "create_room_validate_us": per * 1e6,
        "create_room_reject_us": failing * 1e6,
    }


def compare(checkouts: list[str], rounds: int, argv: list[str]) -> None:
    """Run this script for each checkout in turn, ``rounds`` times, and
    print the median of each figure per checkout."""
    checkouts = [os.path.abspath(c) for c in checkouts]
    script = os.path.abspath(__file__)
    results: dict[str, list[dict[str, float]]] = {c: [] for c in checkouts}
    for round_no in range(rounds):
        for checkout in checkouts:
            env = {**os.environ, "PYTHONPATH": checkout}
            out = subprocess.run(
                [sys.executable, script, *argv],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                cwd=checkout,
            ).stdout
            figures = json.loads(out.strip().splitlines()[-1])
            results[checkout].append(figures)
            print(f"round {round_no + 1} {checkout}: {figures}", file=sys.stderr)
    for checkout, runs in results.items():
        keys = sorted({k for run in runs for k in run})
        summary = {
            k: round(statistics.median(r[k] for r in runs if k in r), 1) for k in keys
        }
        print(json.dumps({"checkout": checkout, "rounds": rounds, **summary}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--validations", type=int, default=20000)
    parser.add_argument("--compare", nargs="+", metavar="CHECKOUT")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.compare:
        own = ["--sends", str(args.sends), "--validations", str(args.validations)]
        compare(args.compare, args.rounds, own)
        return
    figures = {**time_sends(args.sends), **time_validation(args.validations)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
