#!/usr/bin/env python3
"""Replication cost: the CPU of a client reader with no clients while main
writes a steady stream of events (issue 18; Synapse's published figure is
about 25% of a core per worker at 40 events/s).

Starts main and one client reader (``python -m homeserver --worker reader1``)
on a fresh PostgreSQL database and the machine's Redis (a key prefix of its
own), sends messages into one room through main at a steady rate, and reads
the reader's CPU time (all its threads: the reactor, the Redis reader thread,
the database pool) from /proc over the measured window. Also: the reader's
CPU with nothing written (what being a worker costs at rest), main's CPU per
event, and the replication lag the reader reports.

    python bench/replication_bench.py [--rate 40] [--seconds 60]
        [--postgres 'host=127.0.0.1 port=5432 user=postgres']
        [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import redis
import yaml
from bench_postgres import chatly_settings, database, unique_name
from servers import (  # bench/ is on sys.path
    CHATLY_BENCH_SETTINGS,
    ROOT,
    cpu_seconds,
    cpu_seconds_of,
    free_port,
    main_thread_cpu_seconds,
    wait_for_versions,
)

READER = "reader1"
SYNAPSE_FIGURE = 25.0  # % of a core per worker at 40 events/s (Element)


def synctl(*args: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "synctl"), *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def request(
    port: int, method: str, path: str, body: Any = None, token: str = ""
) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, data, headers)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"{method} {path}: {resp.status} {payload[:200]!r}")
    return json.loads(payload)


class Processes:
    """main and reader1 of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, port: int) -> int:
        args = [sys.executable, "-m", "homeserver", "--data-dir", str(self.data_dir)]
        if name != "main":
            args += ["--worker", name]
        log = open(self.data_dir / f"bench-{name}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=log)
        self.procs[name] = proc
        wait_for_versions(port, 120, alive=lambda: proc.poll() is None)
        return proc.pid

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def configure(data_dir: Path, dsn: str, redis_url: str, prefix: str) -> tuple[int, int]:
    """A deployment of main and one client reader; their ports."""
    main_port, reader_port = free_port(), free_port()
    synctl(
        "init", "--data-dir", str(data_dir), "--server-name", "bench",
        "--http-port", str(main_port), "--open-registration",
    )  # fmt: skip
    for key, value in (*CHATLY_BENCH_SETTINGS, *chatly_settings(dsn)):
        synctl("config", "set", "--data-dir", str(data_dir), key, value)
    path = data_dir / "homeserver.yaml"
    config = yaml.safe_load(path.read_text())
    config["workers"] = {
        "redis_url": redis_url,
        "redis_prefix": prefix,
        "instances": [{"name": READER, "role": "client_reader", "port": reader_port}],
    }
    path.write_text(yaml.safe_dump(config))
    return main_port, reader_port


def send_steadily(
    port: int, token: str, room: str, rate: float, stop: threading.Event
) -> int:
    """Send messages at ``rate`` per second until ``stop``; how many."""
    sent, start = 0, time.monotonic()
    while not stop.is_set():
        due = start + sent / rate
        delay = due - time.monotonic()
        if delay > 0:
            stop.wait(delay)
            continue
        txn = uuid.uuid4().hex
        path = f"/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}"
        request(port, "PUT", path, {"msgtype": "m.text", "body": f"m{sent}"}, token)
        sent += 1
    return sent


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of ``pid``."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found[int(task.name)] = cpu_seconds_of(task / "stat")
        except OSError:
            continue
    return found


def measure(pid: int, seconds: float) -> tuple[float, float, list[float]]:
    """CPU seconds of ``pid`` over ``seconds``: all threads, the reactor
    thread, and each other thread that used any (largest first)."""
    total, main = cpu_seconds(pid), main_thread_cpu_seconds(pid)
    threads = thread_cpu(pid)
    time.sleep(seconds)
    after = thread_cpu(pid)
    others = sorted(
        (after[t] - threads.get(t, 0.0) for t in after if t != pid), reverse=True
    )
    return (
        cpu_seconds(pid) - total,
        main_thread_cpu_seconds(pid) - main,
        [round(100 * o / seconds, 2) for o in others if o > 0],
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    client = redis.Redis.from_url(args.redis)
    client.ping()
    prefix = f"chatly-bench-{uuid.uuid4().hex[:8]}"
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"replication-bench-{os.getpid()}"
    data_dir = base / "data"
    with database(args.postgres, unique_name("replication_bench")) as dsn:
        main_port, reader_port = configure(data_dir, dsn, args.redis, prefix)
        procs = Processes(data_dir)
        try:
            main_pid = procs.start("main", main_port)
            reader_pid = procs.start(READER, reader_port)
            body = {"username": "bench", "password": "bench-password-1",
                    "auth": {"type": "m.login.dummy"}}  # fmt: skip
            token = request(main_port, "POST", "/_matrix/client/v3/register", body)[
                "access_token"
            ]
            room = request(
                main_port, "POST", "/_matrix/client/v3/createRoom", {}, token
            )["room_id"]
            time.sleep(3)  # start-up settles
            idle, idle_main, _ = measure(reader_pid, args.idle_seconds)
            stop = threading.Event()
            counter: list[int] = []
            sender = threading.Thread(
                target=lambda: counter.append(
                    send_steadily(main_port, token, room, args.rate, stop)
                )
            )
            sender.start()
            time.sleep(args.warmup)
            main_before = cpu_seconds(main_pid)
            t0 = time.monotonic()
            busy, busy_main, busy_threads = measure(reader_pid, args.seconds)
            elapsed = time.monotonic() - t0
            main_cpu = cpu_seconds(main_pid) - main_before
            stop.set()
            sender.join()
            secret = (data_dir / "replication.secret").read_text().strip()
            conn = http.client.HTTPConnection("127.0.0.1", reader_port, timeout=10)
            conn.request("GET", "/_chatly/replication/status",
                         headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
            status = json.loads(conn.getresponse().read())
            sent = counter[0]
            entries = {
                key.decode().rsplit(":", 1)[1]: client.xlen(key)
                for key in client.scan_iter(match=f"{prefix}:rs:*")
            }
        finally:
            procs.stop()
            keys = list(client.scan_iter(match=f"{prefix}:*"))
            if keys:
                client.delete(*keys)
            shutil.rmtree(base, ignore_errors=True)
    achieved = sent / (args.warmup + elapsed)
    return {
        "rate_asked": args.rate,
        "rate_achieved": round(achieved, 1),
        "seconds": round(elapsed, 1),
        "reader_cpu_percent": round(100 * busy / elapsed, 2),
        "reader_reactor_cpu_percent": round(100 * busy_main / elapsed, 2),
        "reader_other_threads_cpu_percent": busy_threads,
        "reader_idle_cpu_percent": round(100 * idle / args.idle_seconds, 2),
        "reader_idle_reactor_cpu_percent": round(
            100 * idle_main / args.idle_seconds, 2
        ),
        "reader_cpu_ms_per_event": round(1000 * busy / (achieved * elapsed), 3),
        "main_cpu_ms_per_event": round(1000 * main_cpu / (achieved * elapsed), 2),
        "reader_events_position": status["positions"]["events"],
        "reader_lag_seconds": status["lag"]["events"]["seconds"],
        "redis_entries_per_stream": entries,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=40.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
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
    result = run(args)
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    ratio = SYNAPSE_FIGURE / max(result["reader_cpu_percent"], 0.01)
    print(
        f"reader CPU at {result['rate_achieved']} events/s: "
        f"{result['reader_cpu_percent']}% of a core "
        f"(goal < 2%; Synapse's published ~{SYNAPSE_FIGURE:g}% is {ratio:.0f}x that)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
