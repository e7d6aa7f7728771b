"""The outbound application-service queues: the AS sender's position, each
AS's queued items, its transaction in flight, its progress and its backoff.

Spec: application-service API, "Pushing events". See schema 0028 for why the
queues live in the database. The retry state is the federation outbox's
``Backoff`` (same meaning, same columns).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.id_generators import StreamIdGenerator
from homeserver.storage.stores.federation_outbox import Backoff
from homeserver.types import JsonDict

EVENTS_STREAM = "events"


class ItemKind:
    """What an ``appservice_outbox`` row carries."""

    EVENT = "event"
    EPHEMERAL = "ephemeral"
    TO_DEVICE = "to_device"
    DEVICE_LISTS = "device_lists"


@attrs.frozen
class QueuedItem:
    """One queued item: an event (``event_id``) or ephemeral ``content``."""

    item_id: int
    kind: str
    event_id: str | None = None
    content: JsonDict | None = None


@attrs.frozen
class PendingTransaction:
    """A transaction cut for an AS and not yet acknowledged."""

    txn_id: int
    body: JsonDict
    item_count: int


@attrs.frozen
class AppServiceQueueInfo:
    """What the admin API shows about one AS's queue."""

    as_id: str
    pending_items: int
    in_flight: PendingTransaction | None
    last_txn_id: int
    last_success_ts: int | None
    backoff: Backoff


class AppServiceOutboxStore:
    """Reads and writes the outbound AS queues.

    Args:
        db: the database.
        item_ids: IDs (the order) of queued items, from the stream registry.
    """

    def __init__(self, db: Database, item_ids: StreamIdGenerator) -> None:
        self.db = db
        self.item_ids = item_ids

    # -- the sender's position -------------------------------------------------

    async def get_position(self) -> int | None:
        """The last events-stream position the sender handled, if any."""
        row = await self.db.run_interaction(
            "get_appservice_position",
            lambda txn: txn.query_one(
                "SELECT position FROM appservice_stream_position WHERE stream = ?",
                (EVENTS_STREAM,),
            ),
        )
        return int(row.position) if row else None

    async def queue_events(
        self, rows: Sequence[tuple[str, str]], new_position: int
    ) -> None:
        """Queue (AS ID, event ID) rows, in order, and move the sender's
        position to ``new_position``, atomically."""

        def txn_fn(txn: Transaction) -> None:
            ids = self.item_ids.allocate_many_txn(txn, len(rows))
            txn.execute_many(
                "INSERT INTO appservice_outbox (as_id, item_id, kind, event_id)"
                " VALUES (?, ?, ?, ?)",
                [
                    (as_id, item_id, ItemKind.EVENT, event_id)
                    for (as_id, event_id), item_id in zip(rows, ids, strict=True)
                ],
            )
            _ensure_state(txn, {as_id for as_id, _ in rows})
            txn.execute(
                "INSERT INTO appservice_stream_position (stream, position)"
                " VALUES (?, ?) ON CONFLICT (stream)"
                " DO UPDATE SET position = excluded.position",
                (EVENTS_STREAM, new_position),
            )

        await self.db.run_interaction("queue_appservice_events", txn_fn)

    async def queue_data(self, rows: Sequence[tuple[str, str, JsonDict]]) -> None:
        """Queue (AS ID, kind, content) rows of ephemeral data, in order."""
        if not rows:
            return

        def txn_fn(txn: Transaction) -> None:
            ids = self.item_ids.allocate_many_txn(txn, len(rows))
            txn.execute_many(
                "INSERT INTO appservice_outbox (as_id, item_id, kind, content)"
                " VALUES (?, ?, ?, ?)",
                [
                    (as_id, item_id, kind, json.dumps(content))
                    for (as_id, kind, content), item_id in zip(rows, ids, strict=True)
                ],
            )
            _ensure_state(txn, {r[0] for r in rows})

        await self.db.run_interaction("queue_appservice_data", txn_fn)

    # -- one AS's queue ----------------------------------------------------------

    async def get_in_flight(self, as_id: str) -> PendingTransaction | None:
        """The transaction cut for the AS and not yet acknowledged."""
        return await self.db.run_interaction(
            "get_appservice_in_flight", _in_flight_txn, as_id
        )

    async def get_items(self, as_id: str, limit: int) -> list[QueuedItem]:
        """The oldest queued items of the AS."""
        rows = await self.db.run_interaction(
            "get_appservice_items",
            lambda txn: txn.query(
                "SELECT item_id, kind, event_id, content FROM appservice_outbox"
                " WHERE as_id = ? ORDER BY item_id LIMIT ?",
                (as_id, limit),
            ),
        )
        return [
            QueuedItem(
                int(r.item_id),
                r.kind,
                r.event_id,
                None if r.content is None else json.loads(r.content),
            )
            for r in rows
        ]

    async def cut_transaction(
        self, as_id: str, item_ids: Sequence[int], body: JsonDict
    ) -> PendingTransaction:
        """Make ``body`` the AS's transaction in flight under the next txnId
        and forget the items it carries, atomically."""

        def txn_fn(txn: Transaction) -> PendingTransaction:
            _ensure_state(txn, {as_id})
            row = txn.query_one(
                "SELECT last_txn_id FROM appservice_state WHERE as_id = ?", (as_id,)
            )
            txn_id = (int(row.last_txn_id) if row else 0) + 1
            txn.execute(
                "UPDATE appservice_state SET last_txn_id = ? WHERE as_id = ?",
                (txn_id, as_id),
            )
            txn.execute(
                "INSERT INTO appservice_txns (as_id, txn_id, body, item_count)"
                " VALUES (?, ?, ?, ?)",
                (as_id, txn_id, json.dumps(body), len(item_ids)),
            )
            txn.execute_many(
                "DELETE FROM appservice_outbox WHERE as_id = ? AND item_id = ?",
                [(as_id, i) for i in item_ids],
            )
            return PendingTransaction(txn_id, body, len(item_ids))

        return await self.db.run_interaction("cut_appservice_txn", txn_fn)

    async def complete_transaction(self, as_id: str, txn_id: int, now: int) -> None:
        """The AS acknowledged ``txn_id``: forget it and clear the backoff."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "DELETE FROM appservice_txns WHERE as_id = ? AND txn_id = ?",
                (as_id, txn_id),
            )
            txn.execute(
                "UPDATE appservice_state SET last_success_ts = ?, failure_ts = NULL,"
                " retry_last_ts = 0, retry_interval = 0 WHERE as_id = ?",
                (now, as_id),
            )

        await self.db.run_interaction("complete_appservice_txn", txn_fn)

    async def get_backoff(self, as_id: str) -> Backoff:
        """The AS's retry state (healthy if unknown)."""
        row = await self.db.run_interaction(
            "get_appservice_backoff",
            lambda txn: txn.query_one(
                "SELECT failure_ts, retry_last_ts, retry_interval"
                " FROM appservice_state WHERE as_id = ?",
                (as_id,),
            ),
        )
        return _backoff(row) if row else Backoff()

    async def set_backoff(self, as_id: str, backoff: Backoff) -> None:
        """Record the AS's retry state."""

        def txn_fn(txn: Transaction) -> None:
            _ensure_state(txn, {as_id})
            txn.execute(
                "UPDATE appservice_state SET failure_ts = ?, retry_last_ts = ?,"
                " retry_interval = ? WHERE as_id = ?",
                (
                    backoff.failure_ts,
                    backoff.retry_last_ts,
                    backoff.retry_interval,
                    as_id,
                ),
            )

        await self.db.run_interaction("set_appservice_backoff", txn_fn)

    async def get_queue_info(self, as_id: str) -> AppServiceQueueInfo:
        """The AS's queue, for the admin API (empty if never used)."""

        def txn_fn(txn: Transaction) -> AppServiceQueueInfo:
            state = txn.query_one(
                "SELECT last_txn_id, last_success_ts, failure_ts, retry_last_ts,"
                " retry_interval FROM appservice_state WHERE as_id = ?",
                (as_id,),
            )
            count = txn.query_one(
                "SELECT COUNT(*) AS n FROM appservice_outbox WHERE as_id = ?",
                (as_id,),
            )
            return AppServiceQueueInfo(
                as_id=as_id,
                pending_items=int(count.n) if count else 0,
                in_flight=_in_flight_txn(txn, as_id),
                last_txn_id=int(state.last_txn_id) if state else 0,
                last_success_ts=(
                    None
                    if state is None or state.last_success_ts is None
                    else int(state.last_success_ts)
                ),
                backoff=_backoff(state) if state else Backoff(),
            )

        return await self.db.run_interaction("get_appservice_queue_info", txn_fn)


def _ensure_state(txn: Transaction, as_ids: set[str]) -> None:
    txn.execute_many(
        "INSERT INTO appservice_state (as_id) VALUES (?)"
        " ON CONFLICT (as_id) DO NOTHING",
        [(a,) for a in sorted(as_ids)],
    )


def _in_flight_txn(txn: Transaction, as_id: str) -> PendingTransaction | None:
    row = txn.query_one(
        "SELECT txn_id, body, item_count FROM appservice_txns WHERE as_id = ?",
        (as_id,),
    )
    if row is None:
        return None
    return PendingTransaction(
        int(row.txn_id), json.loads(row.body), int(row.item_count)
    )


def _backoff(row: object) -> Backoff:
    failure_ts = getattr(row, "failure_ts", None)
    return Backoff(
        None if failure_ts is None else int(failure_ts),
        int(getattr(row, "retry_last_ts", 0)),
        int(getattr(row, "retry_interval", 0)),
    )
