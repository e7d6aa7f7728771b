#!/usr/bin/env python3
"""In-process timing of the send and sync paths (no sockets, no server process).

Builds a test server (tests/support/server.py: fake reactor, database inline) on a
fresh SQLite file, or PostgreSQL with HS_TEST_POSTGRES, and times, per call
(median CPU time of the thread, which runs the database too, so that other
processes on a busy machine skew it less than wall time; wall time with
--wall):
sending a message, an incremental /sync that sees it, and an initial /sync of a
user in every room. Meant for A/B comparisons of two checkouts, run
alternately:

    PYTHONPATH=/path/to/checkout python bench/inprocess_paths.py [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from homeserver.storage.engines import Engine, PostgresEngine, SqliteEngine
from tests.conftest import POSTGRES_DSN, _admin_connection
from tests.support.server import TestServer


def _engine(tmp: Path) -> tuple[Engine, str | None]:
    if not POSTGRES_DSN:
        return SqliteEngine(str(tmp / "bench.db")), None
    name = f"hs_bench_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    return PostgresEngine(f"{POSTGRES_DSN} dbname={name}"), name


def _admin(sql: str) -> None:
    conn = _admin_connection()
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


CLOCK = time.thread_time


def _timed(fn: Any) -> tuple[float, Any]:
    start = CLOCK()
    result = fn()
    return CLOCK() - start, result


def run(rooms: int, messages: int, initial_syncs: int) -> dict[str, float]:
    """The median milliseconds of each path."""
    with tempfile.TemporaryDirectory() as tmp:
        engine, pg_name = _engine(Path(tmp))
        server = TestServer(engine, None, Path(tmp))
        _, alice = server.register("alice")
        _, bob = server.register("bob")
        room_ids = []
        for _ in range(rooms):
            resp = server.request(
                "POST",
                "/_matrix/client/v3/createRoom",
                {"preset": "public_chat"},
                alice,
            )
            room_id = resp.json["room_id"]
            server.request("POST", f"/_matrix/client/v3/join/{room_id}", {}, bob)
            room_ids.append(room_id)
        since = server.request("GET", "/_matrix/client/v3/sync", token=bob).json[
            "next_batch"
        ]
        send, sync = [], []
        for i in range(messages):
            room_id = room_ids[i % rooms]
            path = f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/t{i}"
            body = {"msgtype": "m.text", "body": f"message {i}"}
            began = CLOCK()
            resp = server.request("PUT", path, body, alice)
            send.append(CLOCK() - began)
            assert resp.code == 200, resp.json
            sync_path = f"/_matrix/client/v3/sync?since={since}&timeout=0"
            began = CLOCK()
            resp = server.request("GET", sync_path, token=bob)
            sync.append(CLOCK() - began)
            assert resp.code == 200, resp.json
            since = resp.json["next_batch"]
        initial = [
            _timed(lambda: server.request("GET", "/_matrix/client/v3/sync", token=bob))[
                0
            ]
            for _ in range(initial_syncs)
        ]
        server.db.close()
        if pg_name is not None:
            _admin(f'DROP DATABASE "{pg_name}"')
    return {
        "send_ms": statistics.median(send) * 1000,
        "incremental_sync_ms": statistics.median(sync) * 1000,
        "initial_sync_ms": statistics.median(initial) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--initial-syncs", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="one JSON line")
    parser.add_argument("--wall", action="store_true", help="wall time, not CPU")
    args = parser.parse_args()
    if args.wall:
        global CLOCK
        CLOCK = time.perf_counter
    figures = run(args.rooms, args.messages, args.initial_syncs)
    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:24} {value:8.3f}")


if __name__ == "__main__":
    main()
