"""What federation needs to know about rooms and received transactions.

The DAG walks behind /backfill and /get_missing_events, the room's gaps
(backward extremities), the servers in a room, and the answers to inbound
transactions (kept so a retried transaction gets the same answer).
"""

from __future__ import annotations

import json
from collections.abc import Collection

from homeserver.events.ids import domains_of
from homeserver.events.model import EventTypes, Membership
from homeserver.storage.database import Database, Transaction
from homeserver.types import JsonDict


class FederationStore:
    """Reads for the remote event pipeline and the federation read endpoints."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_min_depth(self, room_id: str) -> int | None:
        """The smallest depth of the room's DAG (non-outlier) events."""
        row = await self.db.run_interaction(
            "get_min_depth",
            lambda txn: txn.query_one(
                "SELECT MIN(depth) AS depth FROM events"
                " WHERE room_id = ? AND outlier = ?",
                (room_id, False),
            ),
        )
        return int(row.depth) if row and row.depth is not None else None

    async def get_backward_extremities(self, room_id: str) -> list[str]:
        """Events the DAG points at that we do not have (where history stops)."""
        rows = await self.db.run_interaction(
            "get_backward_extremities",
            lambda txn: txn.query(
                "SELECT event_id FROM event_backward_extremities WHERE room_id = ?"
                " ORDER BY event_id",
                (room_id,),
            ),
        )
        return [r.event_id for r in rows]

    async def get_backward_extremity_depth(self, room_id: str) -> int | None:
        """The largest depth of an event we have whose parent is a gap."""
        row = await self.db.run_interaction(
            "get_backward_extremity_depth",
            lambda txn: txn.query_one(
                "SELECT MAX(e.depth) AS depth FROM event_backward_extremities b"
                " JOIN event_edges g ON g.prev_event_id = b.event_id"
                " JOIN events e ON e.event_id = g.event_id"
                " WHERE b.room_id = ? AND e.outlier = ?",
                (room_id, False),
            ),
        )
        return int(row.depth) if row and row.depth is not None else None

    async def get_joined_servers(self, room_id: str) -> set[str]:
        """The servers with a joined member in the room's current state."""
        rows = await self.db.run_interaction(
            "get_joined_servers",
            lambda txn: txn.query(
                "SELECT state_key FROM current_state_events"
                " WHERE room_id = ? AND type = ? AND membership = ?",
                (room_id, EventTypes.MEMBER, Membership.JOIN),
            ),
        )
        return domains_of(row.state_key for row in rows)

    async def get_prev_event_ids(
        self, event_ids: Collection[str]
    ) -> dict[str, list[str]]:
        """Each event's prev events, from the edges table."""

        def txn_fn(txn: Transaction) -> dict[str, list[str]]:
            out: dict[str, list[str]] = {eid: [] for eid in event_ids}
            for row in txn.query_in(
                "SELECT event_id, prev_event_id FROM event_edges"
                " WHERE event_id IN (?*)",
                sorted(event_ids),
            ):
                out[row.event_id].append(row.prev_event_id)
            return out

        return await self.db.run_interaction("get_prev_event_ids", txn_fn)

    async def get_received_transaction(
        self, origin: str, transaction_id: str
    ) -> JsonDict | None:
        """The answer we gave to an earlier transaction with this ID."""
        row = await self.db.run_interaction(
            "get_received_transaction",
            lambda txn: txn.query_one(
                "SELECT response_json FROM federation_received_transactions"
                " WHERE origin = ? AND transaction_id = ?",
                (origin, transaction_id),
            ),
        )
        return json.loads(row.response_json) if row else None  # type: ignore[no-any-return]

    async def insert_received_transaction(
        self, origin: str, transaction_id: str, response: JsonDict, ts: int
    ) -> None:
        """Remember the answer to a transaction (first answer wins)."""
        await self.db.run_interaction(
            "insert_received_transaction",
            lambda txn: txn.execute(
                "INSERT INTO federation_received_transactions"
                " (origin, transaction_id, response_json, received_ts)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (origin, transaction_id) DO NOTHING",
                (origin, transaction_id, json.dumps(response), ts),
            ),
        )

    async def delete_received_transactions_before(self, ts: int) -> None:
        """Forget transaction answers received before ``ts``."""
        await self.db.run_interaction(
            "delete_received_transactions_before",
            lambda txn: txn.execute(
                "DELETE FROM federation_received_transactions WHERE received_ts < ?",
                (ts,),
            ),
        )
