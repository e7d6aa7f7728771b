"""The rows replication carries, per stream: made on the writer, fed on readers.

Only what a reader keeps in memory and cannot cheaply read from PostgreSQL
travels as rows; everything else a reader reads from the database once the
stream's position has moved.

- ``events`` / ``ev``: ``[room_id, ordering, member]`` per persisted event
  (``member``: the user whose membership a member event sets): the sync
  change caches (``services/sync/changes.py``) and the wake-ups of the room
  and the member.
- ``receipts`` / ``rc``: each stored receipt: sliding sync's read-receipt
  change cache.
- ``typing`` / ``ty``: ``[room_id, [user_id, ...]]``, the room's typists
  (typing is never stored: its one writer holds it in memory).
- ``account_data`` / ``ad``: ``[user_id, room_id, type]`` per write: the
  ignore lists push evaluation keeps in memory (``AccountDataChanged``
  receivers that only re-read, run again on every process).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import attrs

from homeserver.events.model import EventTypes
from homeserver.services.sliding_sync.service import SlidingSyncService
from homeserver.services.sync.changes import SyncChanges
from homeserver.signals import AccountDataChanged, EventPersisted, ReceiptStored
from homeserver.storage.stores.receipts import Receipt
from homeserver.streams.registry import ACCOUNT_DATA, EVENTS, RECEIPTS, TYPING
from homeserver.util.background import run_in_background
from homeserver.workers.replication import Replication

EVENT_ROWS = "ev"
RECEIPT_ROWS = "rc"
TYPING_ROWS = "ty"
ACCOUNT_DATA_ROWS = "ad"

Targets = tuple[Iterable[str], Iterable[str]]


class TypingState(Protocol):
    """The typing service as replication needs it."""

    def get_typing_for_rooms(
        self, room_ids: Any, since: int | None
    ) -> dict[str, dict[str, Any]]: ...

    def apply_replicated(
        self, room_id: str, user_ids: list[str], position: int
    ) -> None: ...


class EventFeed:
    """The events stream's rows.

    Args:
        replication: carries them.
        changes: the sync change caches fed on readers.
    """

    def __init__(self, replication: Replication, changes: SyncChanges) -> None:
        self.replication = replication
        self.changes = changes

    def on_event_persisted(self, persisted: EventPersisted) -> None:
        """``event_persisted`` receiver on an events writer."""
        event, ordering = persisted.event, persisted.stream_ordering
        member = event.state_key if event.type == EventTypes.MEMBER else None
        row = [event.room_id, ordering, member or None]
        self.replication.add_row(EVENTS.name, EVENT_ROWS, row, ordering)

    def sink(self, rows: list[Any], position: int) -> Targets:
        """Feed the change caches; wake the rooms and the members."""
        rooms, users = set(), set()
        for room_id, ordering, member in rows:
            self.changes.record(room_id, ordering, member)
            rooms.add(room_id)
            if member:
                users.add(member)
        return users, rooms

    def reset(self, position: int) -> None:
        """After a gap: changes at or below ``position`` are unknown."""
        self.changes.start(position)


class ReceiptFeed:
    """The receipts stream's rows (sliding sync's read positions)."""

    def __init__(self, replication: Replication, sliding: SlidingSyncService) -> None:
        self.replication = replication
        self.sliding = sliding

    def on_receipt_stored(self, stored: ReceiptStored) -> None:
        """``receipt_stored`` receiver on the receipts writer."""
        row = attrs.asdict(stored.receipt)
        row["stream_id"] = stored.stream_id
        self.replication.add_row(RECEIPTS.name, RECEIPT_ROWS, row, stored.stream_id)

    def sink(self, rows: list[Any], position: int) -> None:
        """Note the receipts as if stored here."""
        for row in rows:
            stream_id = row.pop("stream_id")
            self.sliding.on_receipt_stored(ReceiptStored(Receipt(**row), stream_id))

    def reset(self, position: int) -> None:
        """After a gap: read receipts at or below ``position`` are unknown."""
        self.sliding.reads.earliest_known = position


class TypingFeed:
    """The typing stream's rows: each changed room's typists."""

    def __init__(self, typing: TypingState) -> None:
        self.typing = typing

    def build(self, users: set[str], rooms: set[str]) -> dict[str, list[Any]]:
        """On the typing writer: the rooms' typists now."""
        now = self.typing.get_typing_for_rooms(rooms, None)
        rows = [[room, sorted(now.get(room, {}).get("user_ids", ()))] for room in rooms]
        return {TYPING_ROWS: rows}

    def sink(self, rows: list[Any], position: int) -> None:
        """Set the rooms' typists as the writer has them."""
        for room_id, user_ids in rows:
            self.typing.apply_replicated(room_id, user_ids, position)


class AccountDataFeed:
    """The account_data stream's rows, for re-reading receivers.

    Args:
        replication: carries them.
        rereaders: ``AccountDataChanged`` receivers that only re-read
            what changed (safe to run in every process).
    """

    def __init__(
        self, replication: Replication, rereaders: list[Callable[..., Any]]
    ) -> None:
        self.replication = replication
        self.rereaders = rereaders

    def on_account_data_changed(self, change: AccountDataChanged) -> None:
        """``account_data_changed`` receiver on the account_data writer."""
        row = [change.user_id, change.room_id, change.data_type]
        self.replication.add_row(
            ACCOUNT_DATA.name, ACCOUNT_DATA_ROWS, row, change.stream_id
        )

    def sink(self, rows: list[Any], position: int) -> None:
        """Run the re-reading receivers for each write."""
        for user_id, room_id, data_type in rows:
            change = AccountDataChanged(user_id, room_id, data_type, position)
            for receiver in self.rereaders:
                run_in_background("replicated_account_data", receiver(change))


def bind_feeds(
    replication: Replication,
    *,
    changes: SyncChanges,
    sliding: SlidingSyncService,
    typing: TypingState,
    account_data_rereaders: list[Callable[..., Any]],
) -> tuple[EventFeed, ReceiptFeed, AccountDataFeed]:
    """Connect the sinks and builders; the caller connects the writers'
    signal receivers (``EventFeed.on_event_persisted``...)."""
    events = EventFeed(replication, changes)
    receipts = ReceiptFeed(replication, sliding)
    replication.add_sink(EVENTS.name, EVENT_ROWS, events.sink)
    replication.add_gap_reset(EVENTS.name, events.reset)
    replication.add_sink(RECEIPTS.name, RECEIPT_ROWS, receipts.sink)
    replication.add_gap_reset(RECEIPTS.name, receipts.reset)
    typing_feed = TypingFeed(typing)
    replication.add_row_builder(TYPING.name, typing_feed.build)
    replication.add_sink(TYPING.name, TYPING_ROWS, typing_feed.sink)
    account_data = AccountDataFeed(replication, account_data_rereaders)
    replication.add_sink(ACCOUNT_DATA.name, ACCOUNT_DATA_ROWS, account_data.sink)
    return events, receipts, account_data
