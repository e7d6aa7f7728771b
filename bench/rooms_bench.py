#!/usr/bin/env python3
"""Rooms benchmark: send latency as history grows, and state storage per message.

Starts a fresh Chatly with synctl in a temporary data directory, drives it over
the client-server API on loopback, prints the figures and stops the server.

    python bench/rooms_bench.py [--messages 10000] [--members 1000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from servers import CHATLY_BENCH_SETTINGS, free_port  # bench/ is on sys.path

ROOT = Path(__file__).resolve().parents[1]


def synctl(*args: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "synctl"), *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )


class Client:
    """A keep-alive JSON client."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.conn.request(method, path, json.dumps(body or {}), headers)
        resp = self.conn.getresponse()
        data = json.loads(resp.read() or b"{}")
        if resp.status != 200:
            raise RuntimeError(f"{method} {path}: {resp.status} {data}")
        return data


def register(port: int, name: str) -> Client:
    client = Client(port)
    body = {
        "username": name,
        "password": "benchmark-password",
        "auth": {"type": "m.login.dummy"},
    }
    client.token = client.call("POST", "/_matrix/client/v3/register", body)[
        "access_token"
    ]
    return client


def progress(label: str, done: int, total: int) -> None:
    if done % max(1, total // 20) == 0 or done == total:
        print(f"\r  {label}: {done}/{total}", end="", file=sys.stderr, flush=True)
        if done == total:
            print(file=sys.stderr)


def send_latencies(client: Client, room_id: str, count: int) -> list[float]:
    latencies = []
    for i in range(count):
        start = time.perf_counter()
        client.call(
            "PUT",
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/b{i}",
            {"msgtype": "m.text", "body": f"message {i}"},
        )
        latencies.append(time.perf_counter() - start)
        progress("sending", i + 1, count)
    return latencies


def state_rows(db_path: Path) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM state_group_entries").fetchone()[0]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=1_000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="chatly-bench-")) / "data"
    port = free_port()
    synctl(
        "init",
        "--data-dir",
        str(data_dir),
        "--server-name",
        "bench",
        "--http-port",
        str(port),
        "--open-registration",
    )
    for key, value in CHATLY_BENCH_SETTINGS:
        synctl("config", "set", "--data-dir", str(data_dir), key, value)
    synctl("start", "--data-dir", str(data_dir))
    try:
        owner = register(port, "owner")
        room_id = owner.call(
            "POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat"}
        )["room_id"]
        latencies = send_latencies(owner, room_id, args.messages)
        early = statistics.median(latencies[50:150])
        late = statistics.median(latencies[-100:])
        print(f"send latency, median of messages 51-150:   {early * 1000:.2f} ms")
        print(
            f"send latency, median of the last 100 (of {args.messages}): "
            f"{late * 1000:.2f} ms  (ratio {late / early:.2f}x)"
        )

        big = owner.call(
            "POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat"}
        )["room_id"]
        joins: list[float] = []
        for i in range(args.members - 1):
            member = register(port, f"member{i}")
            start = time.perf_counter()
            member.call("POST", f"/_matrix/client/v3/rooms/{big}/join", {})
            joins.append(time.perf_counter() - start)
            progress("joining members", i + 1, args.members - 1)
        first, last = statistics.median(joins[:100]), statistics.median(joins[-100:])
        print(
            f"join latency, median of joins 1-100: {first * 1000:.2f} ms;"
            f" of the last 100 (of {len(joins)}): {last * 1000:.2f} ms"
            f"  (ratio {last / first:.2f}x)"
        )
        db_path = data_dir / "homeserver.db"
        before = state_rows(db_path)
        send_latencies(owner, big, 100)
        after = state_rows(db_path)
        print(
            f"room with {args.members} members: 100 messages added "
            f"{after - before} state rows ({(after - before) / 100:.2f} per message); "
            f"{before} state rows in all"
        )
    finally:
        synctl("stop", "--data-dir", str(data_dir))


if __name__ == "__main__":
    main()
