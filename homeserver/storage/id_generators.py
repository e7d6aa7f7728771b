"""Monotonic IDs for stream orderings and state groups.

A stream position is only handed to readers once every smaller ID has been
persisted, so a reader that sees position N never misses an event below N that
commits later.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from homeserver.storage.database import Database, Transaction


class StreamIdGenerator:
    """Allocates increasing IDs and tracks which are still being written.

    Args:
        current: the highest ID already persisted.
    """

    def __init__(self, current: int) -> None:
        self._lock = threading.Lock()
        self._last = current
        self._unfinished: set[int] = set()

    async def load(self, db: Database, table: str, column: str) -> None:
        """Continue after the largest ``column`` in ``table`` (at start-up)."""
        row = await db.run_interaction(
            f"max_{table}_{column}",
            lambda txn: txn.query_one(f"SELECT MAX({column}) AS value FROM {table}"),
        )
        with self._lock:
            self._last = max(
                self._last, int(row.value) if row and row.value is not None else 0
            )

    @contextmanager
    def allocate(self) -> Iterator[int]:
        """A new ID, marked finished when the block exits (committed or not)."""
        with self._lock:
            self._last += 1
            new_id = self._last
            self._unfinished.add(new_id)
        try:
            yield new_id
        finally:
            with self._lock:
                self._unfinished.discard(new_id)

    @asynccontextmanager
    async def allocate_many_async(
        self, db: Database, count: int
    ) -> AsyncIterator[list[int]]:
        """``count`` new IDs, each finished when the block exits. Here
        from memory; from a PostgreSQL sequence with several writers
        (``sequence_ids.MultiWriterStreamIds``), hence ``db``."""
        with self._lock:
            ids = list(range(self._last + 1, self._last + 1 + count))
            self._last += count
            self._unfinished.update(ids)
        try:
            yield ids
        finally:
            with self._lock:
                self._unfinished.difference_update(ids)

    def allocate_many_txn(self, txn: Transaction, count: int) -> list[int]:
        """``count`` raw IDs for rows written in ``txn`` (from memory here;
        from a sequence in worker mode, ``sequence_ids.SequenceIds``)."""
        return [self.allocate_raw() for _ in range(count)]

    def current_position(self) -> int:
        """The highest ID below which everything is persisted."""
        with self._lock:
            if self._unfinished:
                return min(self._unfinished) - 1
            return self._last

    def allocate_raw(self) -> int:
        """A new ID with no completion tracking (for state groups)."""
        with self._lock:
            self._last += 1
            return self._last

    def advance(self, writer: str, position: int) -> None:
        """Replication: ``writer`` (another process) has persisted everything
        up to ``position`` of this stream, which this process only reads."""
        with self._lock:
            self._last = max(self._last, position)

    def rewind(self, positions: dict[str, int]) -> None:
        """Replication at start-up: the stream is where its writers last
        published, which may be below the largest stored ID (a write in
        flight on the writer holds a smaller one)."""
        with self._lock:
            self._last = min(positions.values(), default=self._last)


class BackfillIdGenerator:
    """Decreasing negative stream orderings for backfilled (historic) events.

    They sort before every live event, so a /sync position never moves
    because of them and incremental syncs never return them.

    Args:
        current: the lowest ID already used (0 when none is negative).
    """

    def __init__(self, current: int) -> None:
        self._lock = threading.Lock()
        self._last = min(current, 0)

    async def load(self, db: Database, table: str, column: str) -> None:
        """Continue below the smallest ``column`` in ``table`` (at start-up)."""
        row = await db.run_interaction(
            f"min_{table}_{column}",
            lambda txn: txn.query_one(f"SELECT MIN({column}) AS value FROM {table}"),
        )
        with self._lock:
            if row and row.value is not None:
                self._last = min(self._last, int(row.value))

    def allocate(self) -> int:
        """A new ID, below every earlier one."""
        with self._lock:
            self._last -= 1
            return self._last

    async def allocate_async(self, db: Database) -> int:
        """``allocate``; from a sequence with several event persisters
        (``sequence_ids.SequenceBackfillIds``), hence ``db``."""
        return self.allocate()
