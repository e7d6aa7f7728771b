"""The Database: named transactions on a thread pool, retried on conflicts.

Stores call ``run_interaction(name, fn, *args)``; ``fn(txn, *args)`` runs on a
pool thread inside one transaction, which commits when it returns and rolls
back when it raises. Deadlocks and serialisation failures are retried.

Queries return ``Row`` objects (storage/rows.py), read by column name. IN-lists
are written once: ``in_list(values)`` makes ``(?, ?, ...)`` and
``Transaction.query_in`` runs a query with an ``IN (?*)`` list in batches.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import re
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, TypeVar

from prometheus_client import Counter, Histogram
from twisted.internet import defer, threads
from twisted.python.threadpool import ThreadPool

from homeserver.storage.engines import ConnectionHolder, Engine
from homeserver.storage.rows import Row, class_for
from homeserver.util import db_usage

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Runs a blocking callable somewhere and returns a Deferred of its result.
Runner = Callable[[Callable[[], Any]], "defer.Deferred[Any]"]

# The most values one IN-list of ``query_in`` carries; with a statement's other
# arguments this stays far below SQLite's oldest limit of 999 variables.
IN_BATCH = 200
# Where ``query_in`` puts its list: "... WHERE room_id IN (?*) AND ...".
IN_MARKER = "(?*)"
# Row classes remembered per query text; past this many texts, start afresh.
ROW_CLASS_CACHE = 4096


def in_list(values: Collection[Any]) -> str:
    """``(?, ?, ...)``: one placeholder per value, for ``column IN <this>``.

    For short lists of known length (filters, constants); a list that may be
    long goes through ``Transaction.query_in``, which batches it.
    """
    return "(" + ", ".join("?" * len(values)) + ")"


TXN_SECONDS = Histogram(
    "homeserver_db_txn_seconds", "Database transaction duration", ["name"]
)
TXN_RETRIES = Counter(
    "homeserver_db_txn_retries_total", "Transactions retried after a conflict", ["name"]
)


@functools.lru_cache(maxsize=4096)
def _txn_timer(name: str) -> Any:
    """TXN_SECONDS of one transaction name, looked up once per name (the
    labelled lookup costs more than a cached call on every transaction)."""
    return TXN_SECONDS.labels(name)


class Transaction:
    """A cursor inside one transaction, with ``?`` placeholders on every engine."""

    def __init__(
        self,
        engine: Engine,
        cursor: Any,
        name: str,
        row_classes: dict[str, type[Row]] | None = None,
        *,
        autocommit: bool = False,
    ) -> None:
        self.engine = engine
        self.cursor = cursor
        self.name = name
        self.after_commit: list[Callable[[], None]] = []
        # The watched tables a statement wrote to (Database.watch_writes).
        self.wrote_watched: set[str] = set()
        self._watch: Callable[[str], str | None] | None = None
        # Counted for util/db_usage: statements run (one per row of an
        # executemany) and rows returned; a plain int add on the hot path.
        self.statements = 0
        self.rows = 0
        # Calls into the driver: network round trips on PostgreSQL (BEGIN
        # rides with the first statement, deferred writes with the next
        # statement or the COMMIT); BEGIN and COMMIT count on SQLite.
        self.round_trips = 0
        # Each statement on its own, no transaction (Database.run_read).
        self.autocommit = autocommit
        # The engine's BEGIN, until the first statement carries it; then None.
        self._begin: str | None = None if autocommit else engine.begin_prefix
        # Writes queued by execute_later, already converted for the driver,
        # sent in front of the next statement or of the COMMIT.
        self._later: list[str] = []
        self._later_args: list[Any] = []
        # Query text -> its Row class, shared by the Database's transactions:
        # one text always names the same columns on one engine, so this skips
        # reading the cursor's description on the hot paths.
        self._row_classes: dict[str, type[Row]] = (
            {} if row_classes is None else row_classes
        )

    def _row_class(self, sql: str) -> type[Row]:
        """The Row class of the query just run (the callers look in the cache
        first, inline, as this is on every query's path)."""
        if len(self._row_classes) >= ROW_CLASS_CACHE:
            self._row_classes.clear()
        cls = self._row_classes[sql] = class_for(self.cursor.description)
        return cls

    def _note_write(self, sql: str) -> None:
        """Note the watched table ``sql`` writes to, if any."""
        assert self._watch is not None
        table = self._watch(sql)
        if table is not None:
            self.wrote_watched.add(table)

    @property
    def begun(self) -> bool:
        """Whether a statement has begun the transaction on the server (an
        engine without a begin_prefix: the Database began it)."""
        return self._begin is None

    def execute(self, sql: str, args: Sequence[Any] = ()) -> None:
        """Run one statement."""
        self.statements += 1
        self.round_trips += 1
        if self._watch is not None:
            self._note_write(sql)
        if self._begin is None and not self._later:
            if self.autocommit:
                _check_read(sql)
            self.cursor.execute(self.engine.convert_sql(sql), tuple(args))
            return
        head = self._head()
        self.cursor.execute(head + self.engine.convert_sql(sql), self._with_later(args))

    def execute_later(self, sql: str, args: Sequence[Any] = ()) -> None:
        """Run a write whose outcome nothing reads, in the round trip of the
        next statement or of the COMMIT (PostgreSQL: several statements in one
        query); at once on an engine that has no round trips to save.

        An error it raises (a broken constraint) surfaces at that later
        statement or at the commit, and fails the transaction either way; use
        it only where the caller neither reads ``rowcount`` nor catches the
        error to carry on.
        """
        if self.autocommit:
            raise ValueError(f"a write in a read without a transaction: {sql!r}")
        if self.engine.single_threaded:
            self.execute(sql, args)
            return
        self.statements += 1
        if self._watch is not None:
            self._note_write(sql)
        self._later.append(self.engine.convert_sql(sql))
        self._later_args.extend(args)

    def _head(self) -> str:
        """What goes in front of the next statement: the BEGIN, if not yet
        sent, and the queued writes; both are then sent."""
        begin, self._begin = self._begin or "", None
        if not self._later:
            return begin
        later, self._later = self._later, []
        return begin + "; ".join(later) + "; "

    def _with_later(self, args: Sequence[Any]) -> tuple[Any, ...]:
        """``args`` after the queued writes' arguments (``_head`` order)."""
        if not self._later_args:
            return tuple(args)
        queued, self._later_args = self._later_args, []
        return (*queued, *args)

    def commit_sql(self) -> str | None:
        """The query that ends the transaction: ``COMMIT``, after any queued
        writes (and the BEGIN, if no statement has sent it yet); None when
        nothing was begun on the server."""
        if self._later:
            return self._head() + "COMMIT"
        return "COMMIT" if self.begun else None

    def commit_args(self) -> tuple[Any, ...]:
        """The arguments of ``commit_sql`` (the queued writes')."""
        return self._with_later(())

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of arguments."""
        args = [tuple(r) for r in rows]
        if not args:
            return
        self.statements += len(args)
        self.round_trips += len(args)
        if self._watch is not None:
            self._note_write(sql)
        self.send_pending()
        self.cursor.executemany(self.engine.convert_sql(sql), args)

    def insert_many(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        later: bool = False,
    ) -> None:
        """Insert ``rows`` with multi-row ``INSERT ... VALUES (..), (..)``
        statements of at most IN_BATCH values each: one statement (and round
        trip) for a few rows, where ``execute_many`` runs one per row. No
        rows: no statement. A row that breaks a constraint fails its whole
        statement, as it would have failed the transaction anyway. ``later``:
        through ``execute_later``.
        """
        run = self.execute_later if later else self.execute
        items = [tuple(r) for r in rows]
        width = len(columns)
        one = "(" + ", ".join("?" * width) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        per = max(1, IN_BATCH // width)
        for start in range(0, len(items), per):
            chunk = items[start : start + per]
            run(
                head + ", ".join([one] * len(chunk)),
                [value for row in chunk for value in row],
            )

    def send_pending(self) -> None:
        """Send the BEGIN, if not yet sent, and the queued writes now (before
        a statement that cannot carry them, such as a COPY)."""
        if self._begin is not None or self._later:
            self.round_trips += 1
            self.cursor.execute(self._head().rstrip("; "), self._with_later(()))

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """Run a query and return every row."""
        self.execute(sql, args)
        cls = self._row_classes.get(sql) or self._row_class(sql)
        new = tuple.__new__
        rows = [new(cls, row) for row in self.cursor.fetchall()]
        self.rows += len(rows)
        return rows

    def query_one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        """Run a query and return its first row, or None."""
        self.execute(sql, args)
        row = self.cursor.fetchone()
        if row is None:
            return None
        self.rows += 1
        return tuple.__new__(self._row_classes.get(sql) or self._row_class(sql), row)

    def query_in(
        self,
        sql: str,
        values: Iterable[Any],
        args: Sequence[Any] = (),
        *,
        batch: int = IN_BATCH,
    ) -> list[Row]:
        """Run a query with one ``IN (?*)`` list, in batches of ``batch`` values.

        ``sql`` holds ``IN (?*)`` exactly once; ``args`` are the arguments of
        its other ``?`` placeholders, in order, and the values of each batch go
        in where the list is. The rows of every batch are returned one batch
        after the other, so ORDER BY, GROUP BY and LIMIT apply within a batch:
        use this only where each row depends on one value of the list (never
        with ``NOT IN``, and never for a count over the whole list). No values:
        no query, no rows.

        Args:
            sql: the query, with ``?`` placeholders and one ``IN (?*)``.
            values: the values of the list.
            args: the other arguments.
            batch: the most values one statement carries.

        Returns:
            Every row of every batch.
        """
        head, marker, tail = sql.partition(IN_MARKER)
        if not marker or IN_MARKER in tail:
            raise ValueError(f"query_in needs exactly one {IN_MARKER}: {sql!r}")
        split = head.count("?")
        before, after = tuple(args[:split]), tuple(args[split:])
        items = values if isinstance(values, (list, tuple)) else list(values)
        if len(items) <= batch:  # the usual case: one statement, no copies
            if not items:
                return []
            return self.query(head + in_list(items) + tail, (*before, *items, *after))
        rows: list[Row] = []
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            rows += self.query(head + in_list(chunk) + tail, (*before, *chunk, *after))
        return rows

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return int(self.cursor.rowcount)

    def call_after(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the reactor once the transaction has committed."""
        self.after_commit.append(fn)


class Database:
    """One database: an engine, its connections and the thread that runs them.

    Args:
        engine: the driver adapter.
        runner: runs a blocking callable off the reactor thread.
        txn_retries: attempts after a retryable failure.
    """

    def __init__(self, engine: Engine, runner: Runner, txn_retries: int = 5) -> None:
        self.engine = engine
        self.runner = runner
        self.txn_retries = txn_retries
        self.connections = ConnectionHolder(engine)
        self._row_classes: dict[str, type[Row]] = {}
        self.IntegrityError = engine.IntegrityError
        # watch_writes: tables -> callbacks run when a write to them commits.
        self._watched: list[tuple[frozenset[str], Callable[[], None]]] = []
        # Tables whose plain INSERTs count as writes too.
        self._inserts_watched: frozenset[str] = frozenset()
        self._writes_watched: Callable[[str], str | None] | None = None
        # Told (on the database thread) the watched tables a transaction
        # wrote, after it commits, so replication can tell the other
        # processes; None in one process.
        self.on_watched_write: Callable[[Collection[str]], None] | None = None

    def watch_writes(
        self,
        tables: Iterable[str],
        callback: Callable[[], None],
        *,
        inserts: bool = False,
    ) -> None:
        """Call ``callback`` (on the database thread, right after COMMIT) after
        every transaction with an UPDATE or DELETE of one of ``tables`` (and,
        with ``inserts``, an INSERT: for a cache of what the rows add up to),
        by whichever code path: what a cache of those tables forgets. In a
        worker deployment replication runs the callbacks in the other
        processes too (``on_watched_write``)."""
        names = frozenset(t.lower() for t in tables)
        self._watched.append((names, callback))
        if inserts:
            self._inserts_watched |= names
        watched = frozenset().union(*(t for t, _ in self._watched))
        inserted = self._inserts_watched

        @functools.lru_cache(maxsize=4096)
        def writes_watched(sql: str) -> str | None:
            table, adds_only = _written_table(sql)
            if table is None:
                return None
            if adds_only:
                return table if table in inserted else None
            return table if table in watched else None

        self._writes_watched = writes_watched

    def _committed_watched(self, tables: set[str]) -> None:
        self.run_write_watchers(tables)
        if self.on_watched_write is not None:
            self.on_watched_write(tables)

    def run_write_watchers(self, tables: Collection[str] = ()) -> None:
        """Run the ``watch_writes`` callbacks of ``tables`` (none named:
        every one), also when another process published that it wrote them."""
        for watched, callback in self._watched:
            if not tables or not watched.isdisjoint(tables):
                callback()

    async def run_interaction(
        self, name: str, fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        """Run ``fn(txn, *args, **kwargs)`` in one named transaction.

        Returns:
            What ``fn`` returned, once the transaction has committed.
        """
        return await self._run(name, False, fn, *args, **kwargs)

    async def run_read(
        self, name: str, fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        """Run ``fn(txn, *args, **kwargs)``, queries only, without a
        transaction around them: each statement is atomic on its own and sees
        its own snapshot, so this is for a read of one statement (or of
        several that need no common snapshot). On PostgreSQL it saves the
        transaction's COMMIT round trip: one round trip per statement. A
        statement that is not a SELECT is refused (ValueError).

        Counted like a transaction (util/db_usage.py).
        """
        return await self._run(name, True, fn, *args, **kwargs)

    async def _run(
        self,
        name: str,
        autocommit: bool,
        fn: Callable[..., T],
        *args: Any,
        **kwargs: Any,
    ) -> T:
        start = time.perf_counter()
        txn_box: list[Transaction] = []

        def run() -> T:
            return self._run_txn(name, autocommit, txn_box, fn, *args, **kwargs)

        try:
            result = await self.runner(run)
        finally:
            elapsed = time.perf_counter() - start
            _txn_timer(name).observe(elapsed)
            if len(txn_box) == 1:  # the usual case: one attempt
                txn = txn_box[0]
                work = db_usage.Work(
                    1, txn.statements, txn.round_trips, txn.rows, elapsed
                )
            else:
                work = db_usage.Work(
                    len(txn_box),
                    sum(txn.statements for txn in txn_box),
                    sum(txn.round_trips for txn in txn_box),
                    sum(txn.rows for txn in txn_box),
                    elapsed,
                )
            db_usage.record(name, work)
        # txn_box holds every attempt; the last one committed.
        for callback in txn_box[-1].after_commit if txn_box else []:
            callback()
        return result

    def _run_txn(
        self,
        name: str,
        autocommit: bool,
        box: list[Transaction],
        fn: Callable[..., T],
        *args: Any,
        **kwargs: Any,
    ) -> T:
        attempt = 0
        while True:
            attempt += 1
            with self.connections.lock if self.engine.single_threaded else _NULL:
                conn = self.connections.get()
                try:
                    return self._attempt(
                        conn, name, autocommit, box, fn, *args, **kwargs
                    )
                except Exception as exc:
                    if (
                        self.engine.is_connection_lost(exc)
                        and attempt <= self.txn_retries
                    ):
                        logger.warning(
                            "database connection lost; reconnecting",
                            extra={"txn": name},
                        )
                        self.connections.discard()
                        continue
                    if self.engine.is_retryable(exc) and attempt <= self.txn_retries:
                        TXN_RETRIES.labels(name).inc()
                        logger.info("retrying transaction %s after %s", name, exc)
                        time.sleep(0.01 * attempt)
                        continue
                    raise

    def _attempt(
        self,
        conn: Any,
        name: str,
        autocommit: bool,
        box: list[Transaction],
        fn: Callable[..., T],
        *args: Any,
        **kwargs: Any,
    ) -> T:
        cursor = conn.cursor()
        txn = Transaction(
            self.engine, cursor, name, self._row_classes, autocommit=autocommit
        )
        txn._watch = self._writes_watched
        box.append(txn)
        if self.engine.single_threaded and not autocommit:
            txn.round_trips += 1
            cursor.execute("BEGIN")
        try:
            result = fn(txn, *args, **kwargs)
            commit = None if autocommit else txn.commit_sql()
            if commit is not None:  # nothing to commit if no statement ran
                txn.round_trips += 1
                cursor.execute(commit, txn.commit_args())
            if txn.wrote_watched:
                self._committed_watched(txn.wrote_watched)
        except BaseException:
            if not autocommit:
                self._roll_back(conn, cursor, txn)
            raise
        finally:
            cursor.close()
        return result

    def _roll_back(self, conn: Any, cursor: Any, txn: Transaction) -> None:
        """End a failed transaction (a COMMIT that failed has ended it: the
        ROLLBACK then only draws a warning from PostgreSQL)."""
        try:
            if self.engine.single_threaded:
                if conn.in_transaction:
                    cursor.execute("ROLLBACK")
            elif txn.begun:
                cursor.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - the original error matters more
            logger.warning("rollback failed", exc_info=True)

    def close(self) -> None:
        """Close every connection."""
        self.connections.close_all()


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NULL = _NullContext()

# The table an UPDATE, DELETE or replacing INSERT changes rows of.
_CHANGE = re.compile(
    r"\s*(UPDATE|DELETE\s+FROM|REPLACE\s+INTO|INSERT\s+OR\s+REPLACE\s+INTO"
    r"|INSERT\s+INTO)\s+\"?(\w+)",
    re.IGNORECASE,
)


def _written_table(sql: str) -> tuple[str | None, bool]:
    """The table ``sql`` writes to, lower case (None for others), and
    whether it only adds rows (a plain INSERT changes no existing row; an
    upsert may)."""
    match = _CHANGE.match(sql)
    if match is None:
        return None, False
    verb = match.group(1).upper()
    adds_only = verb.startswith("INSERT INTO") and "DO UPDATE" not in sql.upper()
    return match.group(2).lower(), adds_only


def _check_read(sql: str) -> None:
    """Refuse anything but a query in a read without a transaction."""
    if sql.lstrip()[:6].upper() != "SELECT":
        raise ValueError(f"only queries run without a transaction: {sql!r}")


def thread_pool_runner(reactor: Any, pool: ThreadPool) -> Runner:
    """A Runner that uses ``pool``, carrying contextvars into the thread."""

    def run(fn: Callable[[], Any]) -> defer.Deferred[Any]:
        ctx = contextvars.copy_context()
        return threads.deferToThreadPool(reactor, pool, ctx.run, fn)

    return run


def inline_runner(fn: Callable[[], Any]) -> defer.Deferred[Any]:
    """A Runner that runs on the calling thread (tests on a fake reactor)."""
    return defer.maybeDeferred(fn)
