#!/usr/bin/env python3
"""Send throughput with one and with two event persisters (issue 18).

For each layout: a fresh PostgreSQL database and Redis key prefix, main, a
client reader and the event persisters as real processes
(``python -m homeserver --worker NAME``); ``--clients`` threads each send
messages into a room of their own as fast as answers come back, through the
client reader, which hands each event to its room's persister over internal
HTTP. Reported: messages per second and the CPU each process spent per
message. The one-process layout (no workers) is the baseline. On this 2-core
machine the absolute throughput is bounded by the cores; CPU per message and
per process is what carries over to bigger machines.

    python bench/worker_send_bench.py [--seconds 20] [--clients 8]
        [--postgres DSN] [--redis URL] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import redis
import yaml
from bench_postgres import database, unique_name
from replication_bench import Processes, configure, request  # bench/ on sys.path
from servers import cpu_seconds, free_port

LAYOUTS = {"one process": 0, "one persister": 1, "two persisters": 2}


def add_persisters(data_dir: Path, count: int) -> dict[str, int]:
    """Add ``count`` event persisters to the deployment; name -> port."""
    path = data_dir / "homeserver.yaml"
    config = yaml.safe_load(path.read_text())
    ports = {f"persister{i + 1}": free_port() for i in range(count)}
    config["workers"]["instances"] += [
        {"name": name, "role": "event_persister", "port": port}
        for name, port in ports.items()
    ]
    path.write_text(yaml.safe_dump(config))
    return ports


def drop_workers(data_dir: Path) -> None:
    path = data_dir / "homeserver.yaml"
    config = yaml.safe_load(path.read_text())
    config.pop("workers", None)
    path.write_text(yaml.safe_dump(config))


def send_loop(port: int, token: str, room: str, stop: threading.Event) -> int:
    sent = 0
    while not stop.is_set():
        path = f"/_matrix/client/v3/rooms/{room}/send/m.room.message/{uuid.uuid4().hex}"
        request(port, "PUT", path, {"msgtype": "m.text", "body": f"m{sent}"}, token)
        sent += 1
    return sent


def run_layout(args: argparse.Namespace, persisters: int) -> dict[str, Any]:
    client = redis.Redis.from_url(args.redis)
    prefix = f"chatly-bench-{uuid.uuid4().hex[:8]}"
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"send-bench-{uuid.uuid4().hex[:6]}"
    data_dir = base / "data"
    with database(args.postgres, unique_name("worker_send_bench")) as dsn:
        main_port, reader_port = configure(data_dir, dsn, args.redis, prefix)
        ports = {"main": main_port}
        if persisters:
            ports["reader1"] = reader_port
            ports.update(add_persisters(data_dir, persisters))
        else:
            drop_workers(data_dir)
        procs = Processes(data_dir)
        try:
            pids = {name: procs.start(name, port) for name, port in ports.items()}
            via = reader_port if persisters else main_port
            body = {"username": "bench", "password": "bench-password-1",
                    "auth": {"type": "m.login.dummy"}}  # fmt: skip
            token = request(main_port, "POST", "/_matrix/client/v3/register", body)[
                "access_token"
            ]
            rooms = [
                request(via, "POST", "/_matrix/client/v3/createRoom", {}, token)[
                    "room_id"
                ]
                for _ in range(args.clients)
            ]
            stop = threading.Event()
            counts: list[int] = []
            threads = [
                threading.Thread(
                    target=lambda r=room: counts.append(send_loop(via, token, r, stop))
                )
                for room in rooms
            ]
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            t0 = time.monotonic()
            for thread in threads:
                thread.start()
            time.sleep(args.seconds)
            stop.set()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - t0
            cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
        finally:
            procs.stop()
            keys = list(client.scan_iter(match=f"{prefix}:*"))
            if keys:
                client.delete(*keys)
    sent = sum(counts)
    return {
        "messages_per_second": round(sent / elapsed, 1),
        "cpu_ms_per_message": {
            name: round(1000 * seconds / sent, 2) for name, seconds in cpu.items()
        },
        "cpu_ms_per_message_all": round(1000 * sum(cpu.values()) / sent, 2),
        "cpu_cores_used": round(sum(cpu.values()) / elapsed, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "HS_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres"
        ),
    )
    parser.add_argument(
        "--redis", default=os.environ.get("HS_TEST_REDIS", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures here")
    args = parser.parse_args()
    results = {label: run_layout(args, n) for label, n in LAYOUTS.items()}
    base = results["one process"]["messages_per_second"]
    for label, result in results.items():
        ratio = result["messages_per_second"] / max(base, 0.1)
        print(f"{label}: {json.dumps(result)} ({ratio:.2f}x one process)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
