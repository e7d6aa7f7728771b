"""Database work per unit of work: per HTTP or WebSocket request and per job.

Each request and each background job (``run_in_background``) opens a unit with
``begin(kind, name)``; ``Database.run_interaction`` adds every transaction it
runs to the unit of the context it runs in (a contextvar: each request's
coroutine runs in its own copy of the context, and a job started from a request
gets a unit of its own). Work outside any unit (start-up, looping calls) is
counted under ``kind="other"`` and the transaction's name.

The Prometheus counters are bumped per transaction, so long-lived units (a
WebSocket's sync stream) show up at once; the unit itself keeps the totals for
the debug line a request logs when it ends. The hot path pays one integer
increment per statement (in ``Transaction``) and a few counter increments per
transaction.
"""

from __future__ import annotations

import functools
import logging
from contextvars import ContextVar, Token

from prometheus_client import Counter

LABELS = ["kind", "name"]
TXNS = Counter(
    "homeserver_db_txns_total", "Database transactions (attempts) run", LABELS
)
STATEMENTS = Counter(
    "homeserver_db_statements_total",
    "SQL statements executed (one per row of an executemany)",
    LABELS,
)
ROWS = Counter("homeserver_db_rows_total", "Rows returned by queries", LABELS)
SECONDS = Counter(
    "homeserver_db_seconds_total",
    "Time spent in transactions, from queueing to commit",
    LABELS,
)
UNITS = Counter(
    "homeserver_db_units_total",
    "Requests and jobs that ended (divide the others by this for per-unit figures)",
    LABELS,
)


@functools.lru_cache(maxsize=4096)
def _children(kind: str, name: str) -> tuple[Counter, Counter, Counter, Counter]:
    """The labelled counters of one unit type, looked up once per label pair."""
    return (
        TXNS.labels(kind, name),
        STATEMENTS.labels(kind, name),
        ROWS.labels(kind, name),
        SECONDS.labels(kind, name),
    )


class DbUsage:
    """The database work of one request or job so far."""

    __slots__ = ("kind", "name", "txns", "statements", "rows", "seconds", "_counters")

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        self.txns = 0
        self.statements = 0
        self.rows = 0
        self.seconds = 0.0
        self._counters = _children(kind, name)

    def add(self, txns: int, statements: int, rows: int, seconds: float) -> None:
        """Count one ``run_interaction`` (``txns`` attempts) in this unit."""
        self.txns += txns
        self.statements += statements
        self.rows += rows
        self.seconds += seconds
        add_to_counters(self._counters, txns, statements, rows, seconds)

    def rename(self, kind: str, name: str) -> None:
        """Label the rest of this unit's work (once the route is known)."""
        self.kind = kind
        self.name = name
        self._counters = _children(kind, name)


def add_to_counters(
    counters: tuple[Counter, Counter, Counter, Counter],
    txns: int,
    statements: int,
    rows: int,
    seconds: float,
) -> None:
    txn_counter, statement_counter, row_counter, second_counter = counters
    txn_counter.inc(txns)
    if statements:
        statement_counter.inc(statements)
    if rows:
        row_counter.inc(rows)
    second_counter.inc(seconds)


_CURRENT: ContextVar[DbUsage | None] = ContextVar("db_usage", default=None)


def current() -> DbUsage | None:
    """The unit the running code belongs to, if any."""
    return _CURRENT.get()


def record(
    txn_name: str, txns: int, statements: int, rows: int, seconds: float
) -> None:
    """Count one ``run_interaction`` in the current unit, or under ``other``."""
    usage = _CURRENT.get()
    if usage is not None:
        usage.add(txns, statements, rows, seconds)
    else:
        add_to_counters(_children("other", txn_name), txns, statements, rows, seconds)


def begin(kind: str, name: str) -> tuple[DbUsage, Token[DbUsage | None]]:
    """Open a unit in the current context; ``end`` it with the token."""
    usage = DbUsage(kind, name)
    return usage, _CURRENT.set(usage)


@functools.lru_cache(maxsize=4096)
def _unit_counter(kind: str, name: str) -> Counter:
    return UNITS.labels(kind, name)


def end(usage: DbUsage, token: Token[DbUsage | None]) -> None:
    """Close a unit: count it, and restore the context's previous unit."""
    _unit_counter(usage.kind, usage.name).inc()
    _CURRENT.reset(token)


def log_usage(log: logging.Logger, usage: DbUsage) -> None:
    """Log a unit's totals at debug: ``db: N txns, M statements, R rows, X ms``."""
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "db: %d txns, %d statements, %d rows, %.1f ms",
            usage.txns,
            usage.statements,
            usage.rows,
            usage.seconds * 1000,
            extra={"db_unit": usage.kind, "db_unit_name": usage.name},
        )
