"""Keeping the full-text search index: what is indexed, written in the
transaction that persists (or redacts) the event.

Indexed: ``content.body`` of ``m.room.message``, ``content.name`` of
``m.room.name`` and ``content.topic`` of ``m.room.topic``, when a string, of
events in the DAG that are neither rejected nor soft-failed, local or
received over federation. Encrypted events have nothing the server can read
and are never indexed. A redaction removes its target from the index.
"""

from __future__ import annotations

from collections.abc import Sequence

from homeserver.events.model import Event, EventTypes
from homeserver.storage.database import Transaction

# Event type -> the content key indexed, named as clients name it in /search.
INDEXED_KEYS = {
    EventTypes.MESSAGE: "content.body",
    EventTypes.NAME: "content.name",
    EventTypes.TOPIC: "content.topic",
}
SEARCH_KEYS = tuple(INDEXED_KEYS.values())
TEXT_SEARCH_CONFIG = "english"


def indexed_value(event: Event) -> tuple[str, str] | None:
    """The (key, text) ``event`` is indexed under, or None."""
    key = INDEXED_KEYS.get(event.type)
    if key is None:
        return None
    if event.type != EventTypes.MESSAGE and event.state_key != "":
        return None
    value = event.content.get(key.split(".", 1)[1])
    if not isinstance(value, str) or not value:
        return None
    return key, value


def index_event_txn(txn: Transaction, event: Event) -> None:
    """Add ``event`` to the index if it has searchable text and may be shown.

    The caller has stored the event row; an event already indexed is left as
    it is."""
    if event.outlier or event.rejected_reason is not None or event.soft_failed:
        return
    found = indexed_value(event)
    if found is None:
        return
    key, value = found
    if txn.engine.name == "postgres":
        txn.execute_later(
            "INSERT INTO event_search (event_id, room_id, sender, key, vector)"
            f" VALUES (?, ?, ?, ?, to_tsvector('{TEXT_SEARCH_CONFIG}', ?))"
            " ON CONFLICT (event_id) DO NOTHING",
            (event.event_id, event.room_id, event.sender, key, value),
        )
        return
    # No row back: the event is indexed already.
    row = txn.query_one(
        "INSERT INTO event_search (event_id, room_id, sender, key) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (event_id) DO NOTHING RETURNING id",
        (event.event_id, event.room_id, event.sender, key),
    )
    if row is None:
        return
    txn.execute(
        "INSERT INTO event_search_fts (rowid, value) VALUES (?, ?)", (row.id, value)
    )


def unindex_events_txn(txn: Transaction, event_ids: Sequence[str]) -> None:
    """Remove ``event_ids`` from the index (redacted); unknown IDs are ignored."""
    if not event_ids:
        return
    if txn.engine.name == "sqlite":
        rows = txn.query_in(
            "SELECT id FROM event_search WHERE event_id IN (?*)", event_ids
        )
        txn.execute_many(
            "DELETE FROM event_search_fts WHERE rowid = ?", [(r.id,) for r in rows]
        )
    txn.execute_many(
        "DELETE FROM event_search WHERE event_id = ?", [(e,) for e in event_ids]
    )
