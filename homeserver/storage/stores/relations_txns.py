"""Keeping the relations index (schema 0012) in step with the events table.

Called from inside the event persister's transactions, so the index never
disagrees with the events: an event's relation row is written with the
event, moved with it when an outlier is de-outliered, and deleted in the
same transaction that marks it redacted.
"""

from __future__ import annotations

from collections.abc import Sequence

from homeserver.events.model import Event
from homeserver.events.relations import RelationTypes, relation_of
from homeserver.storage.database import Transaction


def index_relation_txn(txn: Transaction, event: Event, stream_ordering: int) -> None:
    """Index ``event``'s relation, if it has one; threads follow their newest
    child (outliers, whose place in the room is unknown, do not count yet)."""
    if event.rejected_reason is not None or event.soft_failed:
        return
    relation = relation_of(event.content)
    if relation is None:
        return
    txn.execute_later(
        "INSERT INTO event_relations (event_id, relates_to_id, rel_type,"
        " aggregation_key, room_id, sender, type, stream_ordering)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO UPDATE"
        " SET stream_ordering = excluded.stream_ordering",
        (
            event.event_id,
            relation.parent_id,
            relation.rel_type,
            relation.key,
            event.room_id,
            event.sender,
            event.type,
            stream_ordering,
        ),
    )
    if relation.rel_type == RelationTypes.THREAD and not event.outlier:
        # The newest child so far wins (a backfilled one, with its negative
        # ordering, only when the thread has nothing newer).
        txn.execute_later(
            "INSERT INTO threads (room_id, thread_id, latest_event_id,"
            " latest_stream_ordering) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (room_id, thread_id) DO UPDATE SET"
            " latest_event_id = excluded.latest_event_id,"
            " latest_stream_ordering = excluded.latest_stream_ordering"
            " WHERE threads.latest_stream_ordering < excluded.latest_stream_ordering",
            (event.room_id, relation.parent_id, event.event_id, stream_ordering),
        )


def index_relations_txn(txn: Transaction, events: Sequence[tuple[Event, int]]) -> None:
    """``index_relation_txn`` for a batch of ``(event, stream_ordering)``."""
    for event, ordering in events:
        index_relation_txn(txn, event, ordering)


def unindex_relation_txn(txn: Transaction, event_id: str) -> None:
    """Forget the relation of ``event_id`` (it was redacted), and recompute
    its thread's newest event if it was in a thread."""
    row = txn.query_one(
        "SELECT relates_to_id, rel_type, room_id FROM event_relations"
        " WHERE event_id = ?",
        (event_id,),
    )
    if row is None:
        return
    txn.execute("DELETE FROM event_relations WHERE event_id = ?", (event_id,))
    if row.rel_type == RelationTypes.THREAD:
        refresh_thread_txn(txn, row.room_id, row.relates_to_id)


def refresh_thread_txn(txn: Transaction, room_id: str, thread_id: str) -> None:
    """Set the thread's row to its newest servable child, or drop it if none."""
    latest = txn.query_one(
        "SELECT r.event_id, e.stream_ordering FROM event_relations r"
        " JOIN events e ON e.event_id = r.event_id"
        " WHERE r.relates_to_id = ? AND r.rel_type = ? AND r.room_id = ?"
        " AND e.outlier = ? AND e.rejected_reason IS NULL AND e.soft_failed = ?"
        " ORDER BY e.stream_ordering DESC LIMIT 1",
        (thread_id, RelationTypes.THREAD, room_id, False, False),
    )
    if latest is None:
        txn.execute(
            "DELETE FROM threads WHERE room_id = ? AND thread_id = ?",
            (room_id, thread_id),
        )
        return
    txn.execute(
        "INSERT INTO threads (room_id, thread_id, latest_event_id,"
        " latest_stream_ordering) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (room_id, thread_id) DO UPDATE SET"
        " latest_event_id = excluded.latest_event_id,"
        " latest_stream_ordering = excluded.latest_stream_ordering",
        (room_id, thread_id, latest.event_id, int(latest.stream_ordering)),
    )
