#!/usr/bin/env python3
"""Every SQL statement one message send runs, in order, by transaction.

Builds a test server in-process (tests/support/server.py: fake reactor, the
database inline on this thread) on a throw-away PostgreSQL database (or SQLite
with ``--sqlite``), makes a user and a room, sends ``--warm`` messages so the
caches hold what a busy room's would, then sends one more message and prints
what it did: each transaction of the request (PUT /send) and of the background
jobs it started, with its statements (placeholders, no values). The totals are
also read back from util/db_usage.py's unit, as /metrics and the debug line
count them. This is the list docs/performance.md calls "What one message send
does on PostgreSQL".

    PYTHONPATH=. python bench/send_statements.py --dsn 'host=127.0.0.1 user=postgres'
    PYTHONPATH=. python bench/send_statements.py --sqlite [--json]

The database ``chatly_bench_send_<random>`` is created and dropped again; no
setting of the PostgreSQL server is touched.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from homeserver.storage.database import Transaction
from homeserver.storage.engines import Engine, PostgresEngine, SqliteEngine
from homeserver.util import db_usage
from tests.support.server import TestServer

# (unit kind, unit name, transaction name, transaction number, statement, rows)
Record = tuple[str, str, str, int, str, int]
RECORDS: list[Record] = []
ENABLED = [False]
TXN_NUMBERS: dict[Transaction, int] = {}
TXNS: list[Transaction] = []  # by number: their round trips, read at the end


def _record_statements() -> None:
    """Wrap Transaction.execute / execute_later / execute_many to note each
    statement."""
    execute, execute_many = Transaction.execute, Transaction.execute_many
    execute_later = Transaction.execute_later
    init = Transaction.__init__

    def noted_init(self: Transaction, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        TXN_NUMBERS[self] = len(TXN_NUMBERS)  # id() may be reused; this is not
        TXNS.append(self)
        note(self, "", 0)  # the transaction, even if it runs no statement

    Transaction.__init__ = noted_init  # type: ignore[method-assign]

    def note(txn: Transaction, sql: str, rows: int) -> None:
        if ENABLED[0]:
            unit = db_usage.current()
            kind, name = (unit.kind, unit.name) if unit else ("other", txn.name)
            text = re.sub(r"\s+", " ", sql).strip()
            RECORDS.append((kind, name, txn.name, TXN_NUMBERS[txn], text, rows))

    def counted_execute(self: Transaction, sql: str, args: Any = ()) -> None:
        note(self, sql, 1)
        execute(self, sql, args)

    def counted_later(self: Transaction, sql: str, args: Any = ()) -> None:
        # Sent in front of the next statement or of the COMMIT (PostgreSQL);
        # on SQLite execute_later runs execute, which notes it.
        if not self.engine.single_threaded:
            note(self, "[queued] " + sql, 1)
        execute_later(self, sql, args)

    def counted_many(self: Transaction, sql: str, rows: Any) -> None:
        rows = list(rows)
        note(self, sql, len(rows))
        execute_many(self, sql, rows)

    Transaction.execute = counted_execute  # type: ignore[method-assign]
    Transaction.execute_later = counted_later  # type: ignore[method-assign]
    Transaction.execute_many = counted_many  # type: ignore[method-assign]


@contextmanager
def _database(dsn: str | None, tmp: Path) -> Iterator[Engine]:
    if dsn is None:
        yield SqliteEngine(str(tmp / "bench.db"))
        return
    import psycopg2

    name = f"chatly_bench_send_{secrets.token_hex(4)}"
    admin = psycopg2.connect(dsn)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    engine = PostgresEngine(f"{dsn} dbname={name}")
    try:
        yield engine
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def measure(dsn: str | None, warm: int) -> dict[str, Any]:
    """Send ``warm`` messages, then one more; what that one did."""
    with tempfile.TemporaryDirectory() as tmp, _database(dsn, Path(tmp)) as engine:
        server = TestServer(engine, None, Path(tmp))
        try:
            alice, bob = server.user("alice"), server.user("bob")
            room = alice.create_room(preset="public_chat")
            bob.join(room)
            for i in range(warm + 1):
                ENABLED[0] = i == warm
                alice.send(room, f"m{i}")
            ENABLED[0] = False
        finally:
            server.db.close()
    result = _summarise(RECORDS)
    result["db_line"] = LINES[-1] if LINES else None
    return result


class _DbLines(logging.Handler):
    """Keeps the request's ``db: ...`` debug line (util/db_usage.py)."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if ENABLED[0] and message.startswith("db: "):
            LINES.append(message)


LINES: list[str] = []


def _summarise(records: list[Record]) -> dict[str, Any]:
    units: dict[tuple[str, str], dict[str, Any]] = {}
    txns: dict[int, dict[str, Any]] = {}
    for kind, name, txn_name, txn_id, sql, rows in records:
        unit = units.setdefault(
            (kind, name), {"kind": kind, "name": name, "transactions": []}
        )
        if txn_id not in txns:
            txns[txn_id] = {
                "name": txn_name,
                "statements": [],
                "round_trips": TXNS[txn_id].round_trips,
                "autocommit": TXNS[txn_id].autocommit,
            }
            unit["transactions"].append(txns[txn_id])
        if not sql:
            continue
        txns[txn_id]["statements"].append(
            sql if rows == 1 else f"{sql}  -- executemany × {rows}"
        )
        unit["statements"] = unit.get("statements", 0) + rows
    out = list(units.values())
    for unit in out:
        unit["txns"] = len(unit["transactions"])
        # As the Database counted them (storage/database.py): on PostgreSQL
        # a BEGIN goes with the first statement, queued writes with the next
        # statement or the COMMIT; a read without transaction (run_read)
        # sends neither BEGIN nor COMMIT.
        unit["round_trips"] = sum(txn["round_trips"] for txn in unit["transactions"])
    return {"units": out}


def _print(result: dict[str, Any], engine: str) -> None:
    for unit in result["units"]:
        trips = f", {unit['round_trips']} round trips"
        print(
            f"== {unit['kind']} {unit['name']}: {unit['txns']} transactions, "
            f"{unit['statements']} statements{trips} ({engine})"
        )
        for n, txn in enumerate(unit["transactions"], 1):
            empty = "" if txn["statements"] else " (no statement)"
            how = " (no transaction)" if txn["autocommit"] else ""
            print(f"  {n}. {txn['name']}{how}: {txn['round_trips']} round trips{empty}")
            for sql in txn["statements"]:
                print(f"       {sql}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default="host=127.0.0.1 port=5432 user=postgres")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead")
    parser.add_argument("--warm", type=int, default=5, help="messages sent before")
    parser.add_argument("--json", action="store_true", help="JSON instead of text")
    args = parser.parse_args()
    _record_statements()
    site_logger = logging.getLogger("homeserver.api.http.site")
    site_logger.setLevel(logging.DEBUG)
    site_logger.addHandler(_DbLines())
    result = measure(None if args.sqlite else args.dsn, args.warm)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        _print(result, "SQLite" if args.sqlite else "PostgreSQL")
        print(f"the request's debug line (util/db_usage.py): {result['db_line']}")


if __name__ == "__main__":
    main()
