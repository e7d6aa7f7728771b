"""The DAG's edges of knowledge: forward extremities (the tips new local
events build on) and backward extremities (the gaps backfill starts from).

Helpers of ``EventPersister``, run inside its one transaction per event.
"""

from __future__ import annotations

from homeserver.events.model import Event
from homeserver.storage.database import Transaction, in_list


def update_backward_extremities_txn(txn: Transaction, event: Event) -> None:
    """A backfilled event fills its own gap and opens one at unknown prevs."""
    room_id = event.room_id
    txn.execute(
        "DELETE FROM event_backward_extremities WHERE room_id = ? AND event_id = ?",
        (room_id, event.event_id),
    )
    for prev in dict.fromkeys(event.prev_event_ids):
        add_backward_extremity_if_unknown_txn(txn, room_id, prev)


def add_backward_extremity_if_unknown_txn(
    txn: Transaction, room_id: str, event_id: str
) -> None:
    """Record ``event_id`` as a gap unless it is a DAG event we have."""
    # An outlier is no help: the DAG (and the state) before it is unknown.
    known = txn.query_one(
        "SELECT 1 FROM events WHERE event_id = ? AND outlier = ?",
        (event_id, False),
    )
    if not known:
        txn.execute(
            "INSERT INTO event_backward_extremities (room_id, event_id)"
            " SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM"
            " event_backward_extremities WHERE room_id = ? AND event_id = ?)",
            (room_id, event_id, room_id, event_id),
        )


def update_extremities_txn(
    txn: Transaction, event: Event, fresh: bool = False
) -> tuple[frozenset[str], str | None]:
    """A new live event: it replaces its prevs as a tip; unknown prevs are gaps.

    Args:
        fresh: a local event built just now on the room's tips: its prevs
            are DAG events we hold, and nothing can point at it or miss it.

    Returns:
        The tips removed (at most its prevs), and the event if it became one.
    """
    room_id = event.room_id
    prevs = list(dict.fromkeys(event.prev_event_ids))
    if prevs:
        txn.execute_later(
            "DELETE FROM event_forward_extremities WHERE room_id = ? AND event_id IN "
            + in_list(prevs),
            (room_id, *prevs),
        )
    if not fresh:
        for prev in prevs:
            add_backward_extremity_if_unknown_txn(txn, room_id, prev)
        txn.execute_later(
            "DELETE FROM event_backward_extremities WHERE room_id = ? AND event_id = ?",
            (room_id, event.event_id),
        )
        # Only a tip if nothing we already have points at it.
        if txn.query_one(
            "SELECT 1 FROM event_edges WHERE prev_event_id = ?", (event.event_id,)
        ):
            return frozenset(prevs), None
    txn.execute_later(
        "INSERT INTO event_forward_extremities (room_id, event_id) VALUES (?, ?)",
        (room_id, event.event_id),
    )
    return frozenset(prevs), event.event_id
