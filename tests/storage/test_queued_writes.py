"""Queued writes (``Transaction.execute_later``) and reads without a
transaction (``Database.run_read``), on both engines, with the round trips
the driver really saw."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.storage.database import Database, Transaction
from tests.storage.test_database import run


def _driver_calls(db: Database) -> list[str]:
    """Every query text the driver is handed from now on (a wrapped
    connection for PostgreSQL, SQLite's trace callback)."""
    seen: list[str] = []
    conn = db.connections.get()
    if db.engine.single_threaded:
        conn.set_trace_callback(
            lambda sql: None if sql.startswith("--") else seen.append(sql)
        )
        return seen
    import psycopg2.extensions

    class Counting(psycopg2.extensions.cursor):  # type: ignore[misc]
        def execute(self, sql: Any, args: Any = None) -> Any:
            seen.append(sql)
            return super().execute(sql, args)

        def executemany(self, sql: Any, rows: Any) -> Any:
            rows = list(rows)
            seen.extend([sql] * len(rows))  # psycopg2: one query per row
            return super().executemany(sql, rows)

    conn.cursor_factory = Counting
    return seen


def _insert_later(txn: Transaction, user_id: str) -> None:
    txn.execute_later(
        "INSERT INTO users (user_id, created_ts) VALUES (?, ?)", (user_id, 1)
    )


def _users(db: Database) -> list[str]:
    rows = run(
        db.run_read(
            "users", lambda txn: txn.query("SELECT user_id FROM users ORDER BY 1")
        )
    )
    return [r.user_id for r in rows]


def test_queued_writes_ride_with_the_commit(db: Database) -> None:
    """Writes nothing reads go in the COMMIT's round trip on PostgreSQL; the
    whole transaction is then one round trip, and still writes it all."""
    seen = _driver_calls(db)

    def writes(txn: Transaction) -> None:
        _insert_later(txn, "@a:test")
        _insert_later(txn, "@b:test")

    run(db.run_interaction("writes", writes))
    if db.engine.single_threaded:
        assert len(seen) == 4  # BEGIN, two INSERTs, COMMIT: in-process
    else:
        assert len(seen) == 1
        assert seen[0].startswith("BEGIN ISOLATION LEVEL REPEATABLE READ; INSERT")
        assert seen[0].endswith("; COMMIT")
    assert _users(db) == ["@a:test", "@b:test"]


def test_a_query_sees_the_writes_queued_before_it(db: Database) -> None:
    """Queued writes are sent in front of the next statement, in order."""
    seen = _driver_calls(db)

    def write_then_read(txn: Transaction) -> int:
        _insert_later(txn, "@a:test")
        txn.execute_later(
            "UPDATE users SET created_ts = ? WHERE user_id = ?", (5, "@a:test")
        )
        row = txn.query_one(
            "SELECT created_ts FROM users WHERE user_id = ?", ("@a:test",)
        )
        assert row is not None
        return int(row.created_ts)

    assert run(db.run_interaction("write_then_read", write_then_read)) == 5
    if not db.engine.single_threaded:
        assert len(seen) == 2  # the INSERT, UPDATE and SELECT; the COMMIT


def test_a_failing_queued_write_fails_the_whole_transaction(db: Database) -> None:
    """A broken constraint in a queued write surfaces at the commit: nothing
    of the transaction stays, and the connection serves the next one."""
    run(db.run_interaction("first", _insert_later, "@a:test"))

    def duplicate(txn: Transaction) -> None:
        txn.execute(
            "INSERT INTO users (user_id, created_ts) VALUES (?, ?)", ("@b:test", 1)
        )
        _insert_later(txn, "@c:test")
        _insert_later(txn, "@a:test")  # already there

    with pytest.raises(db.IntegrityError):
        run(db.run_interaction("duplicate", duplicate))
    assert _users(db) == ["@a:test"]
    # Failing before anything was sent: the queued writes are dropped.

    def queued_then_raises(txn: Transaction) -> None:
        _insert_later(txn, "@d:test")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        run(db.run_interaction("queued_then_raises", queued_then_raises))
    run(db.run_interaction("after", _insert_later, "@e:test"))
    assert _users(db) == ["@a:test", "@e:test"]


def test_round_trips_counted_as_the_driver_sees_them(db: Database) -> None:
    """Transaction.round_trips is what the driver was handed, BEGIN and
    COMMIT included (they ride with statements on PostgreSQL)."""
    seen = _driver_calls(db)
    counted: list[int] = []

    def mixed(txn: Transaction) -> None:
        _insert_later(txn, "@a:test")
        txn.query("SELECT user_id FROM users")
        _insert_later(txn, "@b:test")
        txn.execute_many(
            "INSERT INTO users (user_id, created_ts) VALUES (?, ?)",
            [("@c:test", 1), ("@d:test", 1)],
        )
        _insert_later(txn, "@e:test")
        counted.append(txn.round_trips)

    run(db.run_interaction("mixed", mixed))
    assert len(seen) == counted[0] + 1  # and the COMMIT


def test_read_without_transaction(db: Database) -> None:
    """run_read: no BEGIN, no COMMIT, one round trip per query; writes are
    refused before they reach the database."""
    run(db.run_interaction("first", _insert_later, "@a:test"))
    seen = _driver_calls(db)
    assert _users(db) == ["@a:test"]
    assert len(seen) == 1 and "BEGIN" not in seen[0]

    def sneaky(txn: Transaction) -> None:
        txn.execute("DELETE FROM users")

    for fn in (sneaky, lambda txn: _insert_later(txn, "@b:test")):
        with pytest.raises(ValueError):
            run(db.run_read("write", fn))
    assert _users(db) == ["@a:test"]
