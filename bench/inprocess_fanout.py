#!/usr/bin/env python3
"""In-process cost of the /sync fan-out, incremental sync and /messages paths,
in CPU time and database work (no sockets, no server process).

Builds a test server (tests/support/server.py: fake reactor, SQLite inline),
puts ``--users`` users and one sender in a room, then per round:

* fanout: every user long-polls /sync, the sender sends one message, all wake;
* incremental: the sender sends, every user syncs with ``timeout=0``;
* messages: ten users read a /messages page of 20 events.

Prints, per round, the thread's CPU milliseconds, the SQL statements run and
the transactions by name, which (unlike wall time on a busy machine) compare
reliably between two checkouts:

    PYTHONPATH=/path/to/checkout python bench/inprocess_fanout.py [--json]

For instruction counts, run it under ``valgrind --tool=callgrind`` with
``--rounds 0`` and ``--rounds N`` and subtract.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from homeserver.storage.database import Database, Transaction
from homeserver.storage.engines import SqliteEngine
from tests.support.server import TestServer

SYNC = "/_matrix/client/v3/sync"
TXNS: collections.Counter[str] = collections.Counter()
STATEMENTS = [0]


def _count_database_work() -> None:
    run_interaction = Database.run_interaction
    execute = Transaction.execute

    async def counted_interaction(
        self: Database, name: str, fn: Any, *args: Any, **kwargs: Any
    ) -> Any:
        TXNS[name] += 1
        return await run_interaction(self, name, fn, *args, **kwargs)

    def counted_execute(self: Transaction, sql: str, args: Any = ()) -> None:
        STATEMENTS[0] += 1
        execute(self, sql, args)

    Database.run_interaction = counted_interaction  # type: ignore[method-assign]
    Transaction.execute = counted_execute  # type: ignore[method-assign]


class Scenario:
    """One room, one sender, ``users`` members; their sync positions."""

    def __init__(self, users: int, tmp: Path) -> None:
        self.sent = 0
        self.server = TestServer(SqliteEngine(str(tmp / "bench.db")), None, tmp)
        _, self.sender = self.server.register("sender")
        self.room = self.request(
            "POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat"}
        ).json["room_id"]
        self.users = []
        for i in range(users):
            _, token = self.server.register(f"user{i}")
            self.request("POST", f"/_matrix/client/v3/join/{self.room}", {}, token)
            self.users.append(token)
        for i in range(30):
            self.send(f"before {i}")
        self.since = {
            t: self.server.request("GET", SYNC, token=t).json["next_batch"]
            for t in self.users
        }
        # Twice: the first passes bring the others' presence.
        for _ in range(2):
            for token in self.users:
                self.incremental(token)

    def request(
        self, method: str, path: str, body: Any, token: str | None = None
    ) -> Any:
        resp = self.server.request(method, path, body, token or self.sender)
        assert resp.code == 200, resp.json
        return resp

    def send(self, text: str) -> None:
        self.sent += 1
        path = f"/_matrix/client/v3/rooms/{self.room}/send/m.room.message/t{self.sent}"
        self.request("PUT", path, {"msgtype": "m.text", "body": text})

    def incremental(self, token: str) -> None:
        path = f"{SYNC}?since={self.since[token]}&timeout=0"
        self.since[token] = self.server.request("GET", path, token=token).json[
            "next_batch"
        ]

    def fanout_round(self) -> None:
        pending = {
            t: self.server.start_request(
                "GET", f"{SYNC}?since={self.since[t]}&timeout=30000", t
            )
            for t in self.users
        }
        self.send("fan-out")
        self.server.advance(0)
        for token, request in pending.items():
            assert request.done, "a syncer was not woken"
            body = request.response().json
            assert self.room in body["rooms"]["join"], body
            self.since[token] = body["next_batch"]

    def incremental_round(self) -> None:
        self.send("incremental")
        for token in self.users:
            self.incremental(token)

    def messages_round(self) -> None:
        path = f"/_matrix/client/v3/rooms/{self.room}/messages?dir=b&limit=20"
        for token in self.users[:10]:
            assert len(self.request("GET", path, None, token).json["chunk"]) == 20


def measure(rounds: int, fn: Callable[[], None]) -> dict[str, Any]:
    """CPU milliseconds, statements and transactions per round of ``fn``."""
    TXNS.clear()
    STATEMENTS[0] = 0
    start = time.thread_time()
    for _ in range(rounds):
        fn()
    cpu = time.thread_time() - start
    per = max(rounds, 1)
    return {
        "cpu_ms": cpu * 1000 / per,
        "statements": STATEMENTS[0] / per,
        "transactions": {k: v / per for k, v in TXNS.most_common()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="one JSON line")
    args = parser.parse_args()
    _count_database_work()
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Scenario(args.users, Path(tmp))
        figures = {
            "fanout": measure(args.rounds, scenario.fanout_round),
            "incremental": measure(args.rounds, scenario.incremental_round),
            "messages": measure(args.rounds, scenario.messages_round),
        }
        scenario.server.db.close()
    if args.json:
        print(json.dumps(figures))
        return
    for name, values in figures.items():
        txns = sum(values["transactions"].values())
        print(
            f"{name:12} {values['cpu_ms']:8.2f} ms CPU  {values['statements']:6.1f}"
            f" statements  {txns:6.1f} transactions per round"
        )
        if name == "fanout":
            print(
                f"{'':14}per recipient: {values['cpu_ms'] / args.users:.3f} ms CPU,"
                f" {txns / args.users:.2f} transactions"
            )
        for txn, count in values["transactions"].items():
            print(f"{'':14}{count:6.1f}  {txn}")


if __name__ == "__main__":
    main()
