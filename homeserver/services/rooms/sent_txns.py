"""Idempotent sends: a client's transaction ID answered with its first event.

A repeated ``PUT .../send/{type}/{txnId}`` (same device, room, event type and
redaction target) gets the event the first request made. The database holds
every event's ``(sender, device, txn_id)``, so a retry after a restart is
answered too; it is read *before* the room's lock is taken, so the read is
not part of the per-room critical section that serialises a room's sends.
Two identical requests in flight at once would both read "not sent yet":
the events sent by this process are also remembered (``note``), and the
second finds the first's event once it holds the lock (``sent_here``).
"""

from __future__ import annotations

from homeserver.events.model import Event
from homeserver.storage.stores.events import EventStore
from homeserver.util.caches import LruCache

# (sender, device, txn_id, room, type) of the recent sends of this process.
RECENT_SENDS = 10_000

TxnKey = tuple[str, str, str, str, str]


class SentTransactions:
    """Finds the event a transaction ID already made."""

    def __init__(self, events: EventStore) -> None:
        self.events = events
        self._recent: LruCache[TxnKey, str] = LruCache("sent_txn_ids", RECENT_SENDS)

    async def earlier(self, key: TxnKey, redacts: str | None) -> Event | None:
        """The event this transaction ID already made, from the database."""
        sender, device_id, txn_id, room_id, event_type = key
        for earlier in await self.events.get_event_ids_for_txn(
            sender, device_id, txn_id, room_id, event_type
        ):
            found = await self.events.get_event(earlier)
            if found is not None and found.redacts == redacts:
                return found
        return None

    async def sent_here(self, key: TxnKey, redacts: str | None) -> Event | None:
        """The event this process made for the transaction ID since the
        database was read (a concurrent identical request's)."""
        event_id = self._recent.get(key)
        found = await self.events.get_event(event_id) if event_id else None
        return found if found is not None and found.redacts == redacts else None

    def note(self, key: TxnKey, event: Event) -> None:
        """Remember that the transaction ID made ``event``."""
        self._recent.set(key, event.event_id)
