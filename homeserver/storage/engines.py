"""The two database engines: SQLite (embedded default) and PostgreSQL (psycopg2).

SQL in stores is written once with ``?`` placeholders; the engine converts it.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from homeserver.config.sections.server import DatabaseConfig


class Engine(Protocol):
    """What the Database needs to know about a driver."""

    name: str
    single_threaded: bool
    IntegrityError: tuple[type[Exception], ...]
    # Sent in front of a transaction's first statement, in the same round
    # trip, on a connection in autocommit mode; None: the Database begins
    # the transaction itself (SQLite, in-process: no round trip to save).
    begin_prefix: str | None

    def connect(self) -> Any:
        """Open a new DB-API connection."""

    def convert_sql(self, sql: str) -> str:
        """Rewrite ``?`` placeholders for this driver."""

    def is_retryable(self, exc: Exception) -> bool:
        """Whether the transaction failed from a deadlock or serialisation failure."""

    def is_connection_lost(self, exc: Exception) -> bool:
        """Whether the connection is unusable and must be reopened."""


def engine_for(database: DatabaseConfig, data_dir: Path) -> Engine:
    """The engine the ``database`` section asks for (a relative SQLite path is
    in ``data_dir``). Here rather than in ``homeserver.app``, so that synctl
    commands opening the database do not import the whole server (seconds)."""
    if database.engine == "postgres":
        return PostgresEngine(database.dsn or "")
    path = Path(database.path)
    return SqliteEngine(str(path if path.is_absolute() else data_dir / path))


class SqliteEngine:
    """SQLite through the standard library; one connection on one thread."""

    name = "sqlite"
    single_threaded = True
    begin_prefix: str | None = None
    IntegrityError: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)

    def __init__(self, path: str) -> None:
        self.path = path

    def connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    def convert_sql(self, sql: str) -> str:
        return sql

    def is_retryable(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)

    def is_connection_lost(self, exc: Exception) -> bool:
        return False


class PostgresEngine:
    """PostgreSQL through psycopg2; a connection per pool thread."""

    name = "postgres"
    single_threaded = False
    # psycopg2 would send its own BEGIN as a round trip of its own before a
    # transaction's first statement; the connection is in autocommit mode and
    # the Transaction sends this in front of that statement instead. A failure
    # of the statement leaves the transaction open and aborted (PostgreSQL's
    # rule for a BEGIN inside a multi-statement query), and it is rolled back.
    begin_prefix: str | None = "BEGIN ISOLATION LEVEL REPEATABLE READ; "

    def __init__(self, dsn: str) -> None:
        import psycopg2
        import psycopg2.errorcodes

        self._psycopg2 = psycopg2
        self.dsn = dsn
        self.IntegrityError: tuple[type[Exception], ...] = (psycopg2.IntegrityError,)
        self._retry_codes = {
            psycopg2.errorcodes.SERIALIZATION_FAILURE,
            psycopg2.errorcodes.DEADLOCK_DETECTED,
        }

    def connect(self) -> Any:
        conn = self._psycopg2.connect(self.dsn)
        # Transactions are begun by the Database (begin_prefix), at
        # REPEATABLE READ; the server's synchronous_commit is left as it is.
        conn.set_session(autocommit=True)
        return conn

    def convert_sql(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def is_retryable(self, exc: Exception) -> bool:
        return getattr(exc, "pgcode", None) in self._retry_codes

    def is_connection_lost(self, exc: Exception) -> bool:
        return isinstance(
            exc, (self._psycopg2.OperationalError, self._psycopg2.InterfaceError)
        ) and not self.is_retryable(exc)


def split_statements(script: str) -> list[str]:
    """Split a schema file on ``;`` at line ends, dropping ``--`` comments."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).strip().rstrip(";"))
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return [s for s in statements if s]


class ConnectionHolder:
    """Connections for the pool's threads: one per thread, or one shared under a lock."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        self._shared: Any = None
        self.lock = threading.RLock()
        self._all: list[Any] = []

    def get(self) -> Any:
        if self.engine.single_threaded:
            if self._shared is None:
                self._shared = self.engine.connect()
                self._all.append(self._shared)
            return self._shared
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.engine.connect()
            self._local.conn = conn
            self._all.append(conn)
        return conn

    def discard(self) -> None:
        """Drop this thread's connection after it broke."""
        conn = (
            self._shared
            if self.engine.single_threaded
            else getattr(self._local, "conn", None)
        )
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - already broken
                pass
            if conn in self._all:
                self._all.remove(conn)
        self._shared = None
        self._local.conn = None

    def close_all(self) -> None:
        for conn in self._all:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing at shutdown
                pass
        self._all.clear()
        self._shared = None
