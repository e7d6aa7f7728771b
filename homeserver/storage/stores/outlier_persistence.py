"""Writing many outliers at once: the state and auth chain of a room we join.

An outlier has no state group, touches no extremity and no current state, so
a batch of them is a handful of multi-row statements per chunk instead of a
transaction per event. Helpers of ``EventPersister.persist_outliers``; the
rows written are the ones ``EventPersister.persist_event`` writes for an
outlier.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial

from homeserver.events.model import Event, EventTypes
from homeserver.storage.database import Transaction
from homeserver.storage.stores.relations_txns import (
    index_relations_txn,
    unindex_relation_txn,
)
from homeserver.storage.stores.search_index import unindex_events_txn

# Events per transaction: big enough that a 10,000-event room state takes a
# few dozen transactions, small enough that one never holds locks for long.
OUTLIER_CHUNK = 500


def existing_event_ids_txn(txn: Transaction, event_ids: Sequence[str]) -> set[str]:
    """Those of ``event_ids`` already stored (outlier or not)."""
    return {
        row.event_id
        for row in txn.query_in(
            "SELECT event_id FROM events WHERE event_id IN (?*)", event_ids
        )
    }


def membership_of_events_txn(
    txn: Transaction, event_ids: Sequence[str]
) -> dict[str, str]:
    """The ``content.membership`` of each stored member event of ``event_ids``
    that has a string one."""
    found: dict[str, str] = {}
    for row in txn.query_in(
        "SELECT event_id, json FROM events WHERE event_id IN (?*)", event_ids
    ):
        content = json.loads(row.json).get("content")
        membership = content.get("membership") if isinstance(content, dict) else None
        if isinstance(membership, str):
            found[row.event_id] = membership
    return found


def insert_outliers_txn(
    txn: Transaction,
    events: Sequence[tuple[Event, int]],
    insert_room: Callable[[Transaction, Event], None],
    invalidate: Callable[[str], None],
) -> None:
    """Insert ``(event, stream_ordering)`` pairs, none of them stored yet, in
    auth order, as outliers: event rows, edges, auth edges, the auth-chain
    index, membership index rows and redaction bookkeeping."""
    for event, _ in events:
        if event.type == EventTypes.CREATE and event.state_key == "":
            insert_room(txn, event)
    txn.execute_many(
        "INSERT INTO events (event_id, room_id, type, state_key, sender, depth,"
        " stream_ordering, origin_server_ts, json, outlier, rejected_reason,"
        " soft_failed, replaces_state, sender_device_id, txn_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                e.event_id,
                e.room_id,
                e.type,
                e.state_key,
                e.sender,
                e.depth,
                ordering,
                e.origin_server_ts,
                json.dumps(e.pdu, ensure_ascii=False),
                True,
                e.rejected_reason,
                False,
                None,
                None,
                None,
            )
            for e, ordering in events
        ],
    )
    txn.execute_many(
        "INSERT INTO event_edges (event_id, prev_event_id) VALUES (?, ?)",
        [(e.event_id, p) for e, _ in events for p in dict.fromkeys(e.prev_event_ids)],
    )
    txn.execute_many(
        "INSERT INTO event_auth (event_id, auth_id) VALUES (?, ?)",
        [(e.event_id, a) for e, _ in events for a in dict.fromkeys(e.auth_event_ids)],
    )
    _index_auth_chains_txn(txn, [e for e, _ in events if e.is_state()])
    txn.execute_many(
        "INSERT INTO room_memberships (event_id, room_id, user_id, sender,"
        " membership, stream_ordering, depth) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                e.event_id,
                e.room_id,
                e.state_key,
                e.sender,
                e.membership or "",
                ordering,
                e.depth,
            )
            for e, ordering in events
            if e.type == EventTypes.MEMBER and e.rejected_reason is None
        ],
    )
    index_relations_txn(txn, events)
    _redactions_txn(txn, [e for e, _ in events], invalidate)


def _index_auth_chains_txn(txn: Transaction, events: Sequence[Event]) -> None:
    """Each state event's full auth chain: its auth events and theirs, from
    the batch (events come in auth order) or from the index."""
    in_batch = {e.event_id for e in events}
    outside = sorted({a for e in events for a in e.auth_event_ids if a not in in_batch})
    chains: dict[str, set[str]] = {}
    for row in txn.query_in(
        "SELECT event_id, chain_id FROM event_auth_chains WHERE event_id IN (?*)",
        outside,
    ):
        chains.setdefault(row.event_id, set()).add(row.chain_id)
    rows: list[tuple[str, str]] = []
    for event in events:
        chain: set[str] = set()
        for auth_id in dict.fromkeys(event.auth_event_ids):
            chain.add(auth_id)
            chain.update(chains.get(auth_id, ()))
        chains[event.event_id] = chain
        rows.extend((event.event_id, chain_id) for chain_id in sorted(chain))
    txn.execute_many(
        "INSERT INTO event_auth_chains (event_id, chain_id) VALUES (?, ?)", rows
    )


def _redactions_txn(
    txn: Transaction, events: Sequence[Event], invalidate: Callable[[str], None]
) -> None:
    """Record the batch's redactions, and mark redacted the events of the
    batch an earlier (or batch) redaction targets, as ``persist_event`` does."""
    targets: list[tuple[str, str]] = []
    for event in events:
        if (
            event.type == EventTypes.REDACTION
            and event.redacts
            and event.rejected_reason is None
        ):
            txn.execute(
                "INSERT INTO redactions (event_id, redacts) VALUES (?, ?)",
                (event.event_id, event.redacts),
            )
            targets.append((event.redacts, event.event_id))
    ids = [e.event_id for e in events]
    targets.extend(
        (row.redacts, row.event_id)
        for row in txn.query_in(
            "SELECT event_id, redacts FROM redactions WHERE redacts IN (?*)", ids
        )
    )
    mark_redacted_txn(txn, targets, invalidate)


def mark_redacted_txn(
    txn: Transaction,
    targets: Sequence[tuple[str, str]],
    invalidate: Callable[[str], None],
) -> None:
    """Mark each ``(target, redaction)`` pair's target redacted by it, if it
    is not already and both events are stored in the same room.

    A redaction only ever applies to an event of its own room (spec, "Client
    behaviour" of redactions; Synapse checks this too): one naming an event
    of another room is stored but redacts nothing, and cannot become that
    event's ``redacted_because``.
    """
    redacted: list[str] = []
    for target, redaction_id in dict.fromkeys(targets):
        txn.execute(
            "UPDATE events SET redacted_by = ? WHERE event_id = ?"
            " AND redacted_by IS NULL"
            " AND room_id = (SELECT room_id FROM events WHERE event_id = ?)",
            (redaction_id, target, redaction_id),
        )
        if txn.rowcount:
            redacted.append(target)
            # A redacted relation is no relation: it leaves every aggregation.
            unindex_relation_txn(txn, target)
            txn.call_after(partial(invalidate, target))
    unindex_events_txn(txn, redacted)
