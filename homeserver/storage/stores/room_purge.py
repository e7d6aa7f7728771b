"""Deleting a room's events from the database: all of a room (room
deletion with ``purge``), or its history before a point (purge history).

Each purge is one transaction, so a failure leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.search_index import unindex_events_txn

# Rows about one event, deleted with it.
_PER_EVENT = (
    "event_edges",
    "event_auth",
    "event_auth_chains",
    "event_to_state_group",
    "redactions",
    "event_relations",
    "event_push_actions",
    "hidden_events",
    "federation_outbox_pdus",
    "appservice_outbox",
)

# Rows about the room, deleted when the whole room is purged (the order
# matters: state group entries go before their groups, events last).
_PER_ROOM = (
    "event_forward_extremities",
    "event_backward_extremities",
    "current_state_events",
    "room_memberships",
    "room_aliases",
    "account_data",
    "receipts",
    "threads",
    "user_directory_public_rooms",
    "appservice_room_list",
    "email_pusher_throttle",
    "server_notices_rooms",
    "state_groups",
    "events",
    "rooms",
)


@attrs.frozen(kw_only=True)
class HistoryPurged:
    """What a history purge did."""

    deleted: int  # events deleted
    kept: int  # events before the point kept (state, or local) as outliers


def _delete_events_txn(txn: Transaction, event_ids: Sequence[str]) -> None:
    unindex_events_txn(txn, event_ids)
    rows = [(e,) for e in event_ids]
    for table in _PER_EVENT:
        txn.execute_many(f"DELETE FROM {table} WHERE event_id = ?", rows)  # noqa: S608


def purge_room_txn(txn: Transaction, room_id: str) -> list[str]:
    """Delete every trace of the room; the IDs of the events deleted."""
    event_ids = [
        r.event_id
        for r in txn.query("SELECT event_id FROM events WHERE room_id = ?", (room_id,))
    ]
    unindex_events_txn(txn, event_ids)
    for table in _PER_EVENT:
        txn.execute(
            f"DELETE FROM {table} WHERE event_id IN"  # noqa: S608
            " (SELECT event_id FROM events WHERE room_id = ?)",
            (room_id,),
        )
    txn.execute(
        "DELETE FROM state_group_entries WHERE state_group IN"
        " (SELECT id FROM state_groups WHERE room_id = ?)",
        (room_id,),
    )
    for table in _PER_ROOM:
        txn.execute(f"DELETE FROM {table} WHERE room_id = ?", (room_id,))  # noqa: S608
    return event_ids


def _new_backward_extremities(txn: Transaction, before: set[str]) -> set[str]:
    """The events before the point that an event after it points to."""
    edges = txn.query_in(
        "SELECT event_id, prev_event_id FROM event_edges WHERE prev_event_id IN (?*)",
        sorted(before),
    )
    return {e.prev_event_id for e in edges if e.event_id not in before}


def purge_history_txn(
    txn: Transaction,
    room_id: str,
    depth: int,
    local_suffix: str,
    delete_local_events: bool,
) -> tuple[HistoryPurged, list[str]]:
    """Delete the room's events whose depth is below ``depth``, as Synapse
    does: state events (needed for auth and state) and, unless
    ``delete_local_events``, local users' events are kept but become
    outliers (out of the timeline); forward extremities are never touched.
    The events just after the deleted ones become backward extremities.

    Returns:
        What was done, and the IDs of the deleted events.
    """
    forward = {
        r.event_id
        for r in txn.query(
            "SELECT event_id FROM event_forward_extremities WHERE room_id = ?",
            (room_id,),
        )
    }
    rows = txn.query(
        "SELECT event_id, state_key, sender, outlier FROM events"
        " WHERE room_id = ? AND depth < ?",
        (room_id, depth),
    )
    delete: list[str] = []
    keep: list[str] = []
    for row in rows:
        if row.event_id in forward:
            continue
        deletable = row.state_key is None and (
            delete_local_events or not row.sender.endswith(local_suffix)
        )
        if deletable:
            delete.append(row.event_id)
        elif not row.outlier:
            keep.append(row.event_id)
    before = set(delete) | set(keep)
    if not before:
        return HistoryPurged(deleted=0, kept=0), []
    backward = _new_backward_extremities(txn, before)
    txn.execute("DELETE FROM event_backward_extremities WHERE room_id = ?", (room_id,))
    txn.execute_many(
        "INSERT INTO event_backward_extremities (room_id, event_id) VALUES (?, ?)",
        [(room_id, e) for e in sorted(backward)],
    )
    _delete_events_txn(txn, delete)
    txn.execute_many("DELETE FROM events WHERE event_id = ?", [(e,) for e in delete])
    txn.execute_many(
        "UPDATE events SET outlier = ? WHERE event_id = ?", [(True, e) for e in keep]
    )
    return HistoryPurged(deleted=len(delete), kept=len(keep)), [*delete, *keep]


class RoomPurgeStore:
    """Purges rooms and room history, and forgets the purged events."""

    def __init__(
        self, db: Database, events: EventStore, room_state: RoomStateStore
    ) -> None:
        self.db = db
        self.events = events
        self.room_state = room_state

    def _forget(self, txn: Transaction, event_ids: list[str]) -> None:
        def forget() -> None:
            for event_id in event_ids:
                self.events.invalidate(event_id)

        txn.call_after(forget)

    async def purge_room(self, room_id: str) -> int:
        """Delete every trace of the room; how many events were deleted."""

        def txn_fn(txn: Transaction) -> int:
            event_ids = purge_room_txn(txn, room_id)
            self._forget(txn, event_ids)
            txn.call_after(partial(self.room_state.forget_room_version, room_id))
            txn.call_after(partial(self.events.extremities.forget, room_id))
            return len(event_ids)

        return await self.db.run_interaction("purge_room", txn_fn)

    async def purge_history(
        self, room_id: str, depth: int, server_name: str, delete_local_events: bool
    ) -> HistoryPurged:
        """Delete the room's history below ``depth`` (see purge_history_txn)."""

        def txn_fn(txn: Transaction) -> HistoryPurged:
            done, touched = purge_history_txn(
                txn, room_id, depth, f":{server_name}", delete_local_events
            )
            self._forget(txn, touched)
            return done

        return await self.db.run_interaction("purge_history", txn_fn)

    async def get_max_extremity_depth(self, room_id: str) -> int | None:
        """The greatest depth of the room's forward extremities."""
        row = await self.db.run_interaction(
            "max_extremity_depth",
            lambda txn: txn.query_one(
                "SELECT MAX(e.depth) AS depth FROM event_forward_extremities f"
                " JOIN events e ON e.event_id = f.event_id WHERE f.room_id = ?",
                (room_id,),
            ),
        )
        return None if row is None or row.depth is None else int(row.depth)

    async def get_depth_before_ts(self, room_id: str, ts: int) -> int | None:
        """The depth of the room's last timeline event sent before ``ts``."""
        row = await self.db.run_interaction(
            "depth_before_ts",
            lambda txn: txn.query_one(
                "SELECT MAX(depth) AS depth FROM events WHERE room_id = ?"
                " AND origin_server_ts < ? AND outlier = ?",
                (room_id, ts, False),
            ),
        )
        return None if row is None or row.depth is None else int(row.depth)
