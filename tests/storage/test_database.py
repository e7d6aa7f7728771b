"""The Database layer on both engines: transactions, retries, migrations."""

from __future__ import annotations

import contextvars
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import pytest
from twisted.internet import defer
from twisted.python.threadpool import ThreadPool

from homeserver.storage.database import (
    Database,
    Transaction,
    inline_runner,
    thread_pool_runner,
)
from homeserver.storage.engines import SqliteEngine, split_statements
from homeserver.storage.migrations import (
    SchemaTooNewError,
    latest_version,
    load_migrations,
    prepare_database,
)


def run(d: Any) -> Any:
    """Run a coroutine whose I/O is inline; return its result or raise."""
    results: list[Any] = []
    defer.ensureDeferred(d).addBoth(results.append)
    assert results
    if hasattr(results[0], "raiseException"):
        results[0].raiseException()
    return results[0]


@pytest.mark.empty_database
def test_migrations_reach_latest_and_are_idempotent(db: Database) -> None:
    latest = latest_version(db.engine.name)
    assert latest >= 1
    assert run(prepare_database(db)) == latest
    rows = run(
        db.run_interaction(
            "versions",
            lambda txn: txn.query(
                "SELECT version FROM schema_version ORDER BY version"
            ),
        )
    )
    assert [r[0] for r in rows] == [m.version for m in load_migrations(db.engine.name)]


@pytest.mark.empty_database
def test_a_migration_that_landed_late_is_still_applied(db: Database) -> None:
    """A database at version N still gets a migration numbered below N that it lacks."""
    late = next(
        m for m in load_migrations(db.engine.name) if m.name == "spaces_reports"
    )

    def forget(txn: Transaction) -> None:
        for table in (
            "event_reports",
            "room_reports",
            "user_reports",
            "hierarchy_sessions",
        ):
            txn.execute(f"DROP TABLE {table}")
        txn.execute("DELETE FROM schema_version WHERE version = ?", (late.version,))

    run(db.run_interaction("forget", forget))
    assert run(prepare_database(db)) == latest_version(db.engine.name)
    count = run(
        db.run_interaction(
            "check", lambda txn: txn.query("SELECT COUNT(*) FROM event_reports")
        )
    )
    assert count[0][0] == 0
    versions = run(
        db.run_interaction(
            "versions", lambda txn: txn.query("SELECT version FROM schema_version")
        )
    )
    assert late.version in {row[0] for row in versions}


@pytest.mark.empty_database
def test_newer_schema_is_refused(db: Database) -> None:
    run(
        db.run_interaction(
            "bump",
            lambda txn: txn.execute(
                "INSERT INTO schema_version (version, name, applied_ts) VALUES (?, ?, ?)",
                (9999, "future", 0),
            ),
        )
    )
    with pytest.raises(SchemaTooNewError, match="9999"):
        run(prepare_database(db))


def test_failed_transaction_leaves_nothing(db: Database) -> None:
    def half_write(txn: Transaction) -> None:
        txn.execute(
            "INSERT INTO users (user_id, created_ts) VALUES (?, ?)", ("@a:test", 1)
        )
        raise ValueError("boom")

    with pytest.raises(ValueError):
        run(db.run_interaction("half_write", half_write))
    rows = run(
        db.run_interaction("count", lambda txn: txn.query("SELECT * FROM users"))
    )
    assert rows == []


def test_integrity_error_is_engine_neutral(db: Database) -> None:
    def insert(txn: Transaction) -> None:
        txn.execute(
            "INSERT INTO users (user_id, created_ts) VALUES (?, ?)", ("@a:test", 1)
        )

    run(db.run_interaction("insert", insert))
    with pytest.raises(db.IntegrityError):
        run(db.run_interaction("insert", insert))


def test_retryable_failure_is_retried(db: Database) -> None:
    attempts: list[int] = []

    def conflicting(txn: Transaction) -> int:
        attempts.append(1)
        txn.execute(
            "INSERT INTO users (user_id, created_ts) VALUES (?, ?)",
            ("@r:test", len(attempts)),
        )
        if len(attempts) == 1:
            if db.engine.name == "sqlite":
                raise sqlite3.OperationalError("database is locked")
            _force_serialization_failure(txn)
        return len(attempts)

    if db.engine.name == "postgres":
        run(
            db.run_interaction(
                "seed",
                lambda txn: txn.execute(
                    "INSERT INTO profiles (user_id, displayname) VALUES (?, ?)",
                    ("@x:test", "x"),
                ),
            )
        )
    assert run(db.run_interaction("conflicting", conflicting)) == 2
    rows = run(
        db.run_interaction(
            "q",
            lambda txn: txn.query(
                "SELECT created_ts FROM users WHERE user_id = ?", ("@r:test",)
            ),
        )
    )
    assert rows == [(2,)], "the first attempt must have been rolled back"


def _force_serialization_failure(txn: Transaction) -> None:
    """A real PostgreSQL serialisation failure: another connection updates a row
    this REPEATABLE READ transaction has read, then this one updates it too."""
    import psycopg2

    txn.query("SELECT displayname FROM profiles WHERE user_id = ?", ("@x:test",))
    dsn = txn.cursor.connection.dsn
    other = psycopg2.connect(dsn)
    with other.cursor() as cur:
        cur.execute("UPDATE profiles SET displayname = 'y' WHERE user_id = '@x:test'")
    other.commit()
    other.close()
    txn.execute(
        "UPDATE profiles SET displayname = ? WHERE user_id = ?", ("z", "@x:test")
    )


def test_retries_are_bounded(tmp_path: Any) -> None:
    db = Database(SqliteEngine(str(tmp_path / "x.db")), inline_runner, txn_retries=3)
    attempts: list[int] = []

    def always_locked(txn: Transaction) -> None:
        attempts.append(1)
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError):
        run(db.run_interaction("always_locked", always_locked))
    assert len(attempts) == 4


def test_after_commit_callbacks_run_only_on_success(db: Database) -> None:
    called: list[str] = []

    def ok(txn: Transaction) -> None:
        txn.call_after(lambda: called.append("ok"))

    def bad(txn: Transaction) -> None:
        txn.call_after(lambda: called.append("bad"))
        raise ValueError

    run(db.run_interaction("ok", ok))
    with pytest.raises(ValueError):
        run(db.run_interaction("bad", bad))
    assert called == ["ok"]


def test_split_statements_drops_comments() -> None:
    script = "-- comment\nCREATE TABLE a (x INT);\n\nCREATE TABLE b (\n  y INT\n);\n"
    assert split_statements(script) == [
        "CREATE TABLE a (x INT)",
        "CREATE TABLE b (\n  y INT\n)",
    ]


class _ThreadReactor:
    """Just enough reactor for deferToThreadPool: results land on the worker."""

    def callFromThread(self, fn: Callable[..., Any], *args: Any) -> None:  # noqa: N802
        fn(*args)


def test_thread_pool_runner_carries_contextvars() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar(
        "request_id", default="none"
    )
    pool = ThreadPool(1, 1)
    pool.start()
    try:
        runner = thread_pool_runner(_ThreadReactor(), pool)
        done = threading.Event()
        seen: list[Any] = []
        var.set("req-1")
        d = runner(lambda: (var.get(), threading.current_thread().name))
        d.addBoth(lambda r: (seen.append(r), done.set()))
        assert done.wait(5)
        value, thread_name = seen[0]
        assert value == "req-1"
        assert thread_name != threading.current_thread().name
    finally:
        pool.stop()


def test_transactions_begun_with_their_first_statement(db: Database) -> None:
    """On PostgreSQL the BEGIN rides with a transaction's first statement (the
    connection is in autocommit mode): still REPEATABLE READ, still atomic
    when the first statement or a later one fails, and the connection stays
    usable after either."""
    if db.engine.name == "postgres":
        level = run(
            db.run_interaction(
                "level", lambda txn: txn.query_one("SHOW transaction_isolation")
            )
        )
        assert level == ("repeatable read",)

    def insert(txn: Transaction, user_id: str) -> None:
        txn.execute(
            "INSERT INTO users (user_id, created_ts) VALUES (?, ?)", (user_id, 1)
        )

    def first_fails(txn: Transaction) -> None:
        txn.execute("SELECT no_such_column FROM users")

    def later_fails(txn: Transaction) -> None:
        txn.execute_many(
            "INSERT INTO users (user_id, created_ts) VALUES (?, ?)",
            [("@m1:test", 1), ("@m2:test", 1)],
        )
        insert(txn, "@kept:test")  # a duplicate: the whole transaction goes

    run(db.run_interaction("insert", insert, "@kept:test"))
    for fn in (first_fails, later_fails):
        with pytest.raises(Exception):  # noqa: B017 - the engine's own error
            run(db.run_interaction(fn.__name__, fn))
    rows = run(
        db.run_interaction(
            "all", lambda txn: txn.query("SELECT user_id FROM users ORDER BY user_id")
        )
    )
    assert [r.user_id for r in rows] == ["@kept:test"]
    assert run(db.run_interaction("nothing", lambda txn: 7)) == 7
