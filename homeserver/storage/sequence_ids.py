"""IDs from PostgreSQL sequences, for streams several processes write.

In worker mode (docs/architecture.md, "Workers") a few ID sequences are
written by more than one process: the events stream when there are several
event persisters (each writes the rooms it is given), backfilled events and
state groups with them, and the outbound federation EDUs and application
service items (queued wherever typing, receipts, presence... are written).
The in-memory generators of one process would hand out the same IDs twice;
these take them from a PostgreSQL sequence (schema 0038) instead.

``MultiWriterStreamIds`` also tracks, for the events stream, how far each
writer has persisted: a process serves syncs only up to the smallest of them
(an event with a smaller ordering may still be in flight on another writer),
and a writer with nothing in flight counts as persisted up to the largest
position seen anywhere, since every ordering it takes later is larger (the
scheme of Synapse's multi-writer streams). Replication feeds the other
writers' positions in (``advance``) and publishes ``own_position``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from homeserver.storage.database import Database, Transaction
from homeserver.storage.id_generators import BackfillIdGenerator, StreamIdGenerator


def next_values_txn(txn: Transaction, sequence: str, count: int) -> list[int]:
    """``count`` new values of ``sequence``, in one statement."""
    if count <= 0:
        return []
    rows = txn.query(
        "SELECT nextval(?) AS value FROM generate_series(1, ?)", (sequence, count)
    )
    return sorted(int(r.value) for r in rows)


async def catch_up(db: Database, sequence: str, floor: int) -> None:
    """Move ``sequence`` past ``floor`` (IDs stored before it was used)."""

    def txn_fn(txn: Transaction) -> None:
        txn.execute(
            "SELECT setval(?, ?) WHERE ? > (SELECT last_value FROM " + sequence + ")",
            (sequence, floor, floor),
        )

    if floor > 0:
        await db.run_interaction(f"catch_up_{sequence}", txn_fn)


async def _stored_extreme(db: Database, table: str, column: str, fn: str) -> int:
    row = await db.run_interaction(
        f"{fn}_{table}_{column}",
        lambda txn: txn.query_one(f"SELECT {fn}({column}) AS value FROM {table}"),
    )
    return int(row.value) if row and row.value is not None else 0


class SequenceIds(StreamIdGenerator):
    """Raw IDs (no completion tracking) from a PostgreSQL sequence, taken
    inside the caller's transaction (``allocate_txn``)."""

    def __init__(self, sequence: str) -> None:
        super().__init__(0)
        self.sequence = sequence

    async def load(self, db: Database, table: str, column: str) -> None:
        await super().load(db, table, column)
        await catch_up(
            db, self.sequence, await _stored_extreme(db, table, column, "MAX")
        )

    def allocate_raw(self) -> int:
        raise RuntimeError(f"{self.sequence}: IDs are taken inside a transaction")

    def allocate_many_txn(self, txn: Transaction, count: int) -> list[int]:
        ids = next_values_txn(txn, self.sequence, count)
        with self._lock:
            self._last = max([self._last, *ids])
        return ids


class SequenceBackfillIds(BackfillIdGenerator):
    """Backfilled events' (negative) stream orderings from a sequence."""

    def __init__(self, sequence: str) -> None:
        super().__init__(0)
        self.sequence = sequence

    async def load(self, db: Database, table: str, column: str) -> None:
        await super().load(db, table, column)
        lowest = await _stored_extreme(db, table, column, "MIN")
        await catch_up(db, self.sequence, -lowest)

    def allocate(self) -> int:
        raise RuntimeError(f"{self.sequence}: use allocate_async")

    async def allocate_async(self, db: Database) -> int:
        [value] = await db.run_interaction(
            "next_backfill_ordering", next_values_txn, self.sequence, 1
        )
        with self._lock:
            self._last = min(self._last, -value)
        return -value


class MultiWriterStreamIds(StreamIdGenerator):
    """The events stream with several writers (see the module doc).

    Args:
        sequence: where orderings come from.
        this: this process's instance name.
        writers: every writer's instance name (this one may be absent: a
            process that only reads the stream).
    """

    def __init__(self, sequence: str, this: str, writers: Sequence[str]) -> None:
        super().__init__(0)
        self.sequence = sequence
        self.this = this
        self.writers = tuple(writers)
        self._positions = dict.fromkeys(self.writers, 0)

    async def load(self, db: Database, table: str, column: str) -> None:
        stored = await _stored_extreme(db, table, column, "MAX")
        await catch_up(db, self.sequence, stored)
        with self._lock:
            self._last = max(self._last, stored)
            for writer in self._positions:
                self._positions[writer] = max(self._positions[writer], stored)

    def allocate(self) -> AsyncIterator[int]:  # type: ignore[override]
        raise RuntimeError(f"{self.sequence}: use allocate_async")

    def allocate_raw(self) -> int:
        raise RuntimeError(f"{self.sequence}: use allocate_async")

    @asynccontextmanager
    async def allocate_many_async(
        self, db: Database, count: int
    ) -> AsyncIterator[list[int]]:
        ids = await db.run_interaction("next_stream_orderings", self._take_txn, count)
        try:
            yield ids
        finally:
            with self._lock:
                self._unfinished.difference_update(ids)

    def _take_txn(self, txn: Transaction, count: int) -> list[int]:
        ids = next_values_txn(txn, self.sequence, count)
        # Marked in flight before the values leave this function, so no
        # position computed meanwhile covers them.
        with self._lock:
            self._unfinished.update(ids)
            self._last = max([self._last, *ids])
        return ids

    def own_position(self) -> int:
        """How far this writer has persisted: below its oldest ordering in
        flight, else the largest position seen anywhere."""
        with self._lock:
            return self._own_position_locked()

    def _own_position_locked(self) -> int:
        if self._unfinished:
            return min(self._unfinished) - 1
        return max([self._last, *self._positions.values()])

    def advance(self, writer: str, position: int) -> None:
        """Writer ``writer`` has persisted everything it will up to ``position``."""
        with self._lock:
            if position > self._positions.get(writer, 0):
                self._positions[writer] = position
            self._last = max(self._last, position)

    def rewind(self, positions: dict[str, int]) -> None:
        """Replication at start-up: each given writer is where it last
        published (maybe below the stored maximum: a write in flight)."""
        with self._lock:
            for writer, position in positions.items():
                if writer in self._positions:
                    self._positions[writer] = position

    def positions(self) -> dict[str, int]:
        """Each writer's known position (this one's live)."""
        with self._lock:
            known = dict(self._positions)
            if self.this in known:
                known[self.this] = self._own_position_locked()
            return known

    def current_position(self) -> int:
        """The safe position: every event at or below it is persisted."""
        return min(self.positions().values(), default=0)


def worker_generators(
    this: str, event_writers: Sequence[str]
) -> dict[str, StreamIdGenerator | BackfillIdGenerator]:
    """The generators a process of a worker deployment on PostgreSQL takes
    from sequences, by stream name (``StreamRegistry(generators=...)``):
    the outbox IDs always (every process queues EDUs and application-service
    items); with several event persisters also the events stream, backfilled
    events and state groups (each persister writes them). One persister
    alone keeps them in memory: it is their only writer."""
    chosen: dict[str, StreamIdGenerator | BackfillIdGenerator] = {
        "federation_outbox_edus": SequenceIds("federation_outbox_edu_seq"),
        "appservice_outbox": SequenceIds("appservice_outbox_seq"),
    }
    if len(event_writers) > 1:
        chosen["events"] = MultiWriterStreamIds(
            "events_stream_seq", this, event_writers
        )
        chosen["backfilled_events"] = SequenceBackfillIds("events_backfill_seq")
        chosen["state_groups"] = SequenceIds("state_group_id_seq")
    return chosen
