"""Database work per unit of work: per HTTP or WebSocket request and per job.

Each request and each background job (``run_in_background``) opens a unit with
``begin(kind, name)``; ``Database.run_interaction`` adds every transaction it
runs to the unit of the context it runs in (a contextvar: each request's
coroutine runs in its own copy of the context, and a job started from a request
gets a unit of its own). Work outside any unit (start-up, looping calls) is
counted under ``kind="other"`` and the transaction's name.

The totals per (kind, name) grow as each transaction ends, so long-lived units
(a WebSocket's sync stream) show up at once; the unit itself keeps its own for
the debug line a request logs when it ends. They are plain ints, turned into
Prometheus counters only when /metrics is read: the hot path pays one integer
add per statement (in ``Transaction``) and a few per transaction.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token
from typing import NamedTuple

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

LABELS = ["kind", "name"]


class Work(NamedTuple):
    """What one ``run_interaction`` did (``txns``: its attempts)."""

    txns: int
    statements: int
    round_trips: int
    rows: int
    seconds: float


class Totals:
    """The running totals of one (kind, name): plain ints, read at scrape time."""

    __slots__ = ("units", "txns", "statements", "round_trips", "rows", "seconds")

    def __init__(self) -> None:
        self.units = 0
        self.txns = 0
        self.statements = 0
        self.round_trips = 0
        self.rows = 0
        self.seconds = 0.0


# (kind, name) -> its totals. Only the reactor thread writes them (the end of
# run_interaction, the end of a request or job); a scrape reads them there too.
_TOTALS: dict[tuple[str, str], Totals] = {}


def _totals(kind: str, name: str) -> Totals:
    totals = _TOTALS.get((kind, name))
    if totals is None:
        totals = _TOTALS[(kind, name)] = Totals()
    return totals


class _DbUsageCollector(Collector):
    """Exposes the totals as Prometheus counters when /metrics is read, so the
    hot path adds plain ints instead of taking a counter's lock."""

    METRICS = (
        ("units", "Requests and jobs that ended (divide by this for per-unit figures)"),
        ("txns", "Database transactions (attempts) run"),
        ("statements", "SQL statements executed (one per row of an executemany)"),
        (
            "round_trips",
            "Calls into the database driver (on PostgreSQL, network round trips;"
            " BEGIN, COMMIT and queued writes ride with a statement)",
        ),
        ("rows", "Rows returned by queries"),
        ("seconds", "Time spent in transactions, from queueing to commit"),
    )

    def collect(self) -> list[Metric]:
        families: list[Metric] = []
        items = list(_TOTALS.items())
        for field, documentation in self.METRICS:
            family = CounterMetricFamily(
                f"homeserver_db_{field}", documentation, labels=LABELS
            )
            for (kind, name), totals in items:
                family.add_metric([kind, name], getattr(totals, field))
            families.append(family)
        return families


REGISTRY.register(_DbUsageCollector())


class DbUsage:
    """The database work of one request or job so far."""

    __slots__ = (
        "kind",
        "name",
        "txns",
        "statements",
        "round_trips",
        "rows",
        "seconds",
        "totals",
    )

    def __init__(self, kind: str, name: str) -> None:
        self.kind = kind
        self.name = name
        self.txns = 0
        self.statements = 0
        self.round_trips = 0
        self.rows = 0
        self.seconds = 0.0
        self.totals = _totals(kind, name)

    def add(self, work: Work) -> None:
        """Count one ``run_interaction`` (``work.txns`` attempts) in this unit."""
        _add(self, work)
        _add(self.totals, work)

    def rename(self, kind: str, name: str) -> None:
        """Label the rest of this unit's work (once the route is known)."""
        self.kind = kind
        self.name = name
        self.totals = _totals(kind, name)


def _add(totals: Totals | DbUsage, work: Work) -> None:
    totals.txns += work.txns
    totals.statements += work.statements
    totals.round_trips += work.round_trips
    totals.rows += work.rows
    totals.seconds += work.seconds


_CURRENT: ContextVar[DbUsage | None] = ContextVar("db_usage", default=None)


def current() -> DbUsage | None:
    """The unit the running code belongs to, if any."""
    return _CURRENT.get()


def record(txn_name: str, work: Work) -> None:
    """Count one ``run_interaction`` in the current unit, or under ``other``."""
    usage = _CURRENT.get()
    if usage is not None:
        usage.add(work)
    else:
        _add(_totals("other", txn_name), work)


def begin(kind: str, name: str) -> tuple[DbUsage, Token[DbUsage | None]]:
    """Open a unit in the current context; ``end`` it with the token."""
    usage = DbUsage(kind, name)
    return usage, _CURRENT.set(usage)


def end(usage: DbUsage, token: Token[DbUsage | None]) -> None:
    """Close a unit: count it, and restore the context's previous unit."""
    usage.totals.units += 1
    _CURRENT.reset(token)


def log_usage(log: logging.Logger, usage: DbUsage) -> None:
    """Log a unit's totals at debug:
    ``db: N txns, M statements, T round trips, R rows, X ms``."""
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "db: %d txns, %d statements, %d round trips, %d rows, %.1f ms",
            usage.txns,
            usage.statements,
            usage.round_trips,
            usage.rows,
            usage.seconds * 1000,
            extra={"db_unit": usage.kind, "db_unit_name": usage.name},
        )
