"""Reading events and the DAG's shape (extremities, depths, transaction IDs)."""

from __future__ import annotations

import json
from collections.abc import Collection

from homeserver.events.model import Event
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row
from homeserver.storage.stores.forward_extremities import ForwardExtremities
from homeserver.util.caches import LruCache
from homeserver.util.coalesce import Coalescer

_EVENT_COLUMNS = (
    "e.event_id, e.json, r.room_version, e.rejected_reason, e.outlier,"
    " e.soft_failed, e.stream_ordering, e.redacted_by, e.replaces_state,"
    " e.sender_device_id, e.txn_id"
)


def _row_to_event(row: Row) -> Event:
    event = Event(
        pdu=json.loads(row.json),
        room_version=KNOWN_ROOM_VERSIONS[row.room_version],
        event_id=row.event_id,
        rejected_reason=row.rejected_reason,
        outlier=bool(row.outlier),
        soft_failed=bool(row.soft_failed),
        stream_ordering=int(row.stream_ordering),
        redacted_by=row.redacted_by,
        replaces_state=row.replaces_state,
        sender_device_id=row.sender_device_id,
        txn_id=row.txn_id,
    )
    return event


def get_events_txn(txn: Transaction, event_ids: Collection[str]) -> dict[str, Event]:
    """Events by ID, inside an existing transaction."""
    found: dict[str, Event] = {}
    for row in txn.query_in(
        f"SELECT {_EVENT_COLUMNS} FROM events e JOIN rooms r ON r.room_id = e.room_id"
        " WHERE e.event_id IN (?*)",
        sorted(set(event_ids)),
    ):
        found[row.event_id] = _row_to_event(row)
    return found


class EventStore:
    """Reads events, with an LRU cache of parsed events.

    Reads of the same missing events at the same time share one database
    read: the syncs that one new event wakes on a process that did not write
    it (a client reader) all miss it in the cache at once. A read that began
    before an invalidation (any event redacted or changed by another process
    since) is neither joined by later callers nor cached.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: LruCache[str, Event] = LruCache("events", 20_000)
        # Bumped on every invalidation: keys the shared reads, guards caching.
        self._generation = 0
        self._reading: Coalescer[tuple[int, tuple[str, ...]], dict[str, Event]] = (
            Coalescer()
        )
        # Each room's tips; the persister tells it what each write changed.
        self.extremities = ForwardExtremities(db)

    @property
    def cache(self) -> LruCache[str, Event]:
        """Events by ID (shared between processes: redactions change them)."""
        return self._cache

    def forget_replicated(self, event_ids: list[str]) -> None:
        """Another process changed these events (none: any)."""
        self._generation += 1
        self._cache.forget_keys(event_ids)

    async def get_events(self, event_ids: Collection[str]) -> dict[str, Event]:
        """The events we have of ``event_ids`` (rejected ones included)."""
        result = self._cache.get_many(event_ids)
        missing = [e for e in event_ids if e not in result]
        if missing:
            result.update(await self._read(missing))
        return result

    async def _read(self, event_ids: list[str]) -> dict[str, Event]:
        """Read ``event_ids`` (missing from the cache), sharing a read of the
        same ones already under way, and cache them."""
        generation, wanted = self._generation, tuple(sorted(set(event_ids)))

        async def read() -> dict[str, Event]:
            # Each row stands alone: no transaction needed around the batches.
            fetched = await self.db.run_read("get_events", get_events_txn, wanted)
            if generation == self._generation:
                for event_id, event in fetched.items():
                    self._cache.set(event_id, event)
            return fetched

        return await self._reading.run((generation, wanted), read)

    async def get_event(self, event_id: str) -> Event | None:
        """One event, or None."""
        return (await self.get_events([event_id])).get(event_id)

    def invalidate(self, event_id: str) -> None:
        """Forget a cached event (after it was redacted)."""
        self._generation += 1
        self._cache.invalidate(event_id)

    def remember(self, event: Event) -> None:
        """Keep an event just persisted whose every stored column it holds
        (stream ordering, flags, device and transaction ID), so the next
        event's build and the syncers it wakes need not read it back."""
        self._cache.set(event.event_id, event)

    async def get_forward_extremities(self, room_id: str) -> list[str]:
        """The DAG's current tips in a room (remembered: ``extremities``)."""
        return await self.extremities.get(room_id)

    async def get_event_ids_for_txn(
        self, sender: str, device_id: str, txn_id: str, room_id: str, event_type: str
    ) -> list[str]:
        """The events of this type a device already sent with this transaction ID.

        A transaction ID is scoped to the device and the endpoint (the path):
        the same ID on ``send/{eventType}`` of another type, or on ``redact``,
        names another request.
        """
        rows = await self.db.run_read(
            "get_event_ids_for_txn",
            lambda txn: txn.query(
                "SELECT event_id FROM events WHERE sender = ? AND sender_device_id = ?"
                " AND txn_id = ? AND room_id = ? AND type = ?",
                (sender, device_id, txn_id, room_id, event_type),
            ),
        )
        return [str(row.event_id) for row in rows]

    async def get_auth_chains(self, event_ids: Collection[str]) -> dict[str, set[str]]:
        """The full auth chain of each (state) event, from the auth-chain index."""

        def txn_fn(txn: Transaction) -> dict[str, set[str]]:
            chains: dict[str, set[str]] = {eid: set() for eid in event_ids}
            for row in txn.query_in(
                "SELECT event_id, chain_id FROM event_auth_chains"
                " WHERE event_id IN (?*)",
                sorted(chains),
            ):
                chains[row.event_id].add(row.chain_id)
            return chains

        return await self.db.run_interaction("get_auth_chains", txn_fn)

    async def get_redaction_ids(self, event_id: str) -> list[str]:
        """Redaction events that target ``event_id``."""
        rows = await self.db.run_read(
            "get_redaction_ids",
            lambda txn: txn.query(
                "SELECT event_id FROM redactions WHERE redacts = ?", (event_id,)
            ),
        )
        return [r.event_id for r in rows]
