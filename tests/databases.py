"""Test databases cloned from a template migrated once per run.

Running every schema migration for each test's database is most of the cost of
a PostgreSQL test, so a run migrates one template database and each test gets
a copy of it: ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL, a file copy on
SQLite. ``hs.setup()`` then finds the schema current and migrates nothing.
Tests of the migrations themselves ask for an empty database instead.

Names carry the run's ID (``hs_tmpl_<run>``, ``hs_test_<run>_<pid>_<n>``,
``hs_interop_<run>_<pid>_<n>``). The process that starts a run (the xdist
controller, or the only process) holds an advisory lock named after the run for
as long as it lasts, so a later run can tell a killed run's leftovers (lock
free, nobody connected) from a live run's databases, and drops only the former.
Databases named any other way are never touched.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from twisted.internet import defer

from homeserver.storage.database import Database, inline_runner
from homeserver.storage.engines import Engine, PostgresEngine, SqliteEngine
from homeserver.storage.migrations import prepare_database

# Advisory lock keys: (class, run) for "this run is alive", (class + 1, run) for
# "this template is being built".
_LOCK_CLASS = 0x43484154  # "CHAT"
_NAME = re.compile(
    r"^hs_(?:tmpl|test|interop)_([0-9a-f]{8})([0-9a-f]{6})(?:_[0-9_]+)?$"
)
# Test databases need no durability: commit without waiting for the disk.
_FAST_COMMIT = "options='-c synchronous_commit=off'"
# PostgreSQL 15 forces a checkpoint for every DROP DATABASE; drops waiting at
# the same time share one. So finished test databases are dropped in batches,
# all of a batch at once, each on a connection of its own (opened for the drop:
# nothing idles between batches). Measured: 24 drops one at a time 17 s, three
# at a time 5.9 s, eight at a time 2.0 s, 24 at once 0.5 s. A batch starts
# once _DROP_BATCH are due and the batch before it is done; when drops fall
# behind (a checkpoint can take seconds on a busy disk) the next batch takes
# all that are due, up to _DROP_MAX, a process's share of max_connections on a
# server other runs may use too.
_DROP_BATCH = 8
# The run's drops together use at most 32 connections, however many xdist
# workers share them (16 each for two workers, 10 each for three).
_DROP_MAX = max(
    _DROP_BATCH, 32 // max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "2")))
)
# A drop that finds the server out of connections tries again this many times.
_DROP_CONNECT_TRIES = 20


def new_run_id() -> str:
    """A run ID: the start time and a random part, 14 hex digits."""
    return f"{int(time.time()):08x}{secrets.token_hex(3)}"


def _run_key(run_id: str) -> int:
    return int(run_id[8:], 16)


def migrate(engine: Engine) -> None:
    """Apply every migration to ``engine``'s database, then close it."""
    db = Database(engine, inline_runner)
    try:
        results: list[Any] = []
        defer.ensureDeferred(prepare_database(db)).addBoth(results.append)
        assert results, "migrations did not run inline"
        if hasattr(results[0], "raiseException"):
            results[0].raiseException()
    finally:
        db.close()


class PostgresDatabases:
    """This process's PostgreSQL test databases, for one run."""

    def __init__(self, admin_dsn: str, run_id: str) -> None:
        self.admin_dsn = admin_dsn
        self.run_id = run_id
        self.template = f"hs_tmpl_{run_id}"
        self._template_ready = False
        self._conn: Any = None
        self._counter = itertools.count()
        self._dropper: ThreadPoolExecutor | None = None
        self._drops: list[Future[None]] = []
        self._to_drop: list[str] = []
        self._batch: list[Future[None]] = []
        # The next test's clone, made while the current test runs.
        self._cloner: ThreadPoolExecutor | None = None
        self._clone_conn: Any = None
        self._next_clone: Future[str] | None = None

    def admin(self) -> Any:
        """An autocommit connection to the server's maintenance database."""
        import psycopg2

        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(self.admin_dsn)
            self._conn.autocommit = True
        return self._conn

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self.admin().cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall()) if cur.description else []

    def dsn(self, name: str) -> str:
        """The connection string of a test database."""
        return f"{self.admin_dsn} dbname={name} {_FAST_COMMIT}"

    def create(self, prefix: str = "hs_test", empty: bool = False) -> str:
        """A new database: a clone of the migrated template, or empty.

        A test's clone (``hs_test``) is made ahead, in the background, while
        the test before it runs: cloning takes 0.2 s or more, mostly waiting
        on PostgreSQL's disk writes, which the test need not wait for.
        """
        if empty:
            name = self._new_name(prefix)
            self.execute(f'CREATE DATABASE "{name}"')
            return name
        self._ensure_template()
        if prefix != "hs_test":
            name = self._new_name(prefix)
            self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            return name
        if self._cloner is None:
            self._cloner = ThreadPoolExecutor(1, thread_name_prefix="clone-test-db")
        ready, self._next_clone = self._next_clone, None
        name = ready.result() if ready is not None else self._clone(self._new_name())
        self._next_clone = self._cloner.submit(self._clone, self._new_name())
        return name

    def _new_name(self, prefix: str = "hs_test") -> str:
        # xdist workers share the run ID; the pid tells their databases apart.
        return f"{prefix}_{self.run_id}_{os.getpid()}_{next(self._counter)}"

    def _clone(self, name: str) -> str:
        """Clone the template as ``name``, on a connection of the cloner's own
        (the first clone runs before the cloner thread, never beside it)."""
        import psycopg2

        if self._clone_conn is None or self._clone_conn.closed:
            self._clone_conn = psycopg2.connect(self.admin_dsn)
            self._clone_conn.autocommit = True
        with self._clone_conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def drop(self, name: str) -> None:
        """Drop a test database in the background: the next test need not wait
        for it (``wait_for_drops()`` does). Drops wait until ``_DROP_BATCH``
        are due, then run side by side and share PostgreSQL's checkpoints."""
        self._to_drop.append(name)
        if len(self._to_drop) >= _DROP_BATCH and all(
            drop.done() for drop in self._batch
        ):
            self._start_drops()

    def _start_drops(self) -> None:
        """Start the next batch: up to ``_DROP_MAX`` of the databases due."""
        if self._dropper is None:
            self._dropper = ThreadPoolExecutor(
                _DROP_MAX, thread_name_prefix="drop-test-db"
            )
        names = self._to_drop[:_DROP_MAX]
        del self._to_drop[:_DROP_MAX]
        self._batch = [self._dropper.submit(self._drop_now, n) for n in names]
        self._drops.extend(self._batch)

    def _drop_now(self, name: str) -> None:
        import psycopg2

        for attempt in range(_DROP_CONNECT_TRIES):
            try:
                conn = psycopg2.connect(self.admin_dsn)
                break
            except psycopg2.OperationalError:
                # Too many clients, for a moment: the batch can wait.
                if attempt == _DROP_CONNECT_TRIES - 1:
                    raise
                time.sleep(0.25 * (attempt + 1))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            conn.close()

    def wait_for_drops(self) -> None:
        """Drop the databases still due, and wait until every drop is done.

        Raises:
            RuntimeError: a test database could not be dropped.
        """
        self._stop_cloning()
        while self._to_drop:
            wait(self._batch)
            self._start_drops()
        if self._dropper is not None:
            self._dropper.shutdown(wait=True)
            self._dropper = None
        drops, self._drops = self._drops, []
        errors = [str(d.exception()) for d in drops if d.exception() is not None]
        if errors:
            raise RuntimeError("could not drop test databases: " + "; ".join(errors))

    def _stop_cloning(self) -> None:
        """Wait for the clone made ahead and drop it: no test will use it."""
        ready, self._next_clone = self._next_clone, None
        if self._cloner is not None:
            self._cloner.shutdown(wait=True)
            self._cloner = None
        if ready is not None and ready.exception() is None:
            self._to_drop.append(ready.result())
        if self._clone_conn is not None:
            self._clone_conn.close()
            self._clone_conn = None

    def _ensure_template(self) -> None:
        """Build the run's template unless it exists; xdist workers share one.

        The build holds an advisory lock, so a second worker waits for it rather
        than racing. A finished template accepts no connections: cloning fails
        while anyone is connected to the source database.
        """
        if self._template_ready:
            return
        key = (_LOCK_CLASS + 1, _run_key(self.run_id))
        self.execute("SELECT pg_advisory_lock(%s, %s)", key)
        try:
            rows = self.execute(
                "SELECT datallowconn FROM pg_database WHERE datname = %s",
                (self.template,),
            )
            if rows and rows[0][0]:  # half-built by a worker that died
                self._drop_template(self.template)
                rows = []
            if not rows:
                self.execute(f'CREATE DATABASE "{self.template}"')
                migrate(PostgresEngine(self.dsn(self.template)))
                self.execute(
                    f'ALTER DATABASE "{self.template}" '
                    "WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"
                )
        finally:
            self.execute("SELECT pg_advisory_unlock(%s, %s)", key)
        self._template_ready = True

    def _drop_template(self, name: str) -> None:
        self.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false')
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Wait for the pending drops, then close the connection."""
        try:
            self.wait_for_drops()
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class RunLock:
    """Held by the process that starts a run, for the whole run (see above)."""

    def __init__(self, databases: PostgresDatabases) -> None:
        self.databases = databases
        self.key = (_LOCK_CLASS, _run_key(databases.run_id))
        databases.execute("SELECT pg_advisory_lock(%s, %s)", self.key)

    def drop_leftovers(self) -> list[str]:
        """Drop databases of earlier runs that were killed; returns their names.

        A database qualifies only if its name is one of ours, its run's lock is
        free (that run's process is gone) and nobody is connected to it.
        """
        dropped = []
        rows = self.databases.execute(
            "SELECT datname, datistemplate FROM pg_database WHERE datname LIKE 'hs\\_%%'"
            " AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a"
            " WHERE a.datname = pg_database.datname)"
        )
        for name, is_template in rows:
            match = _NAME.match(name)
            if not match or match.group(1) + match.group(2) == self.databases.run_id:
                continue
            key = (_LOCK_CLASS, int(match.group(2), 16))
            free = self.databases.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            if not free[0][0]:
                continue  # that run is still going
            try:
                if is_template:
                    self.databases.execute(
                        f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false'
                    )
                # No FORCE: if someone connected meanwhile, leave it.
                self.databases.execute(f'DROP DATABASE IF EXISTS "{name}"')
                dropped.append(name)
            except Exception:  # noqa: BLE001 - in use after all: not ours to drop
                pass
            finally:
                self.databases.execute("SELECT pg_advisory_unlock(%s, %s)", key)
        return dropped

    def finish(self) -> None:
        """Drop the run's template (every test database is dropped already)."""
        if self.databases.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s",
            (self.databases.template,),
        ):
            self.databases._drop_template(self.databases.template)
        self.databases.execute("SELECT pg_advisory_unlock(%s, %s)", self.key)


class SqliteTemplate:
    """A migrated SQLite file, copied for each test (per process, built lazily)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        self._ready = False

    def copy_to(self, path: Path) -> None:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            migrate(SqliteEngine(str(self.path)))
            # Closing the last connection checkpoints the WAL into the file.
            assert not Path(f"{self.path}-wal").exists()
            self._ready = True
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.path, path)
