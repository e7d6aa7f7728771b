"""Writes of the persistence transaction that do not need the persister: the
auth-chain index and the room's current state (replaced after a resolution, or
set one key at a time)."""

from __future__ import annotations

from collections.abc import Mapping

from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.storage.database import Transaction
from homeserver.storage.stores.outlier_persistence import membership_of_events_txn


def index_auth_chain_txn(txn: Transaction, event: Event) -> None:
    """Record the state event's full auth chain in the auth-chain index."""
    auth_ids = list(dict.fromkeys(event.auth_event_ids))
    chain = set(auth_ids)
    chain.update(
        row.chain_id
        for row in txn.query_in(
            "SELECT chain_id FROM event_auth_chains WHERE event_id IN (?*)",
            auth_ids,
        )
    )
    txn.insert_many(
        "event_auth_chains",
        ("event_id", "chain_id"),
        [(event.event_id, chain_id) for chain_id in sorted(chain)],
        later=True,
    )


def replace_current_state_txn(
    txn: Transaction, room_id: str, state: Mapping[StateKey, str]
) -> None:
    """Make ``state`` the room's current state, writing only what changed."""
    existing = {
        (row.type, row.state_key): row.event_id
        for row in txn.query(
            "SELECT type, state_key, event_id FROM current_state_events"
            " WHERE room_id = ?",
            (room_id,),
        )
    }
    txn.execute_many(
        "DELETE FROM current_state_events"
        " WHERE room_id = ? AND type = ? AND state_key = ?",
        [(room_id, key[0], key[1]) for key in existing.keys() - state.keys()],
    )
    changed = {k: eid for k, eid in state.items() if existing.get(k) != eid}
    members = sorted({eid for k, eid in changed.items() if k[0] == EventTypes.MEMBER})
    memberships = membership_of_events_txn(txn, members)
    txn.execute_many(
        "INSERT INTO current_state_events (room_id, type, state_key, event_id, membership)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, type, state_key) DO UPDATE"
        " SET event_id = excluded.event_id, membership = excluded.membership",
        [
            (room_id, typ, state_key, eid, memberships.get(eid))
            for (typ, state_key), eid in changed.items()
        ],
    )


def set_current_state_txn(txn: Transaction, room_id: str, event: Event) -> None:
    """Make the state event ``event`` its key's entry of the room's current
    state (with the membership index, from the event in hand)."""
    typ, state_key = event.state_tuple
    event_id = event.event_id
    membership = event.membership if typ == EventTypes.MEMBER else None
    txn.execute_later(
        "INSERT INTO current_state_events (room_id, type, state_key, event_id, membership)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, type, state_key) DO UPDATE"
        " SET event_id = excluded.event_id, membership = excluded.membership",
        (room_id, typ, state_key, event_id, membership),
    )
