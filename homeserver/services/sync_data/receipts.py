"""Receipts and the fully-read marker.

Spec: client-server API, "Receipts" (m.read, m.read.private, threaded
receipts) and "Read and unread markers" (m.fully_read, /read_markers).

Only joined members may send either, and only for an event of the room. A
receipt or marker never moves backwards (by stream ordering), as in Synapse.
``m.read.private`` receipts are shown to their owner only, so they wake only
the owner's syncs. ``m.fully_read`` is not a receipt: it is the user's room
account data, set only through these endpoints.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from homeserver.errors import Forbidden, InvalidParam, NotFound
from homeserver.events.model import Event
from homeserver.services.accounts.auth import Requester
from homeserver.services.rooms.room_permissions import RoomPermissions
from homeserver.services.sync_data.account_data import AccountDataService
from homeserver.services.sync_data.stream_writers import ReceiptWriter
from homeserver.signals import ReceiptStored, Signal
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.receipts import Receipt, ReceiptStore
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import RECEIPTS
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.ports import Port

RECEIPTS_STREAM = RECEIPTS.name
MAIN_THREAD = "main"


class ReceiptTypes:
    """Receipt types and the fully-read marker's account data type."""

    READ = "m.read"
    READ_PRIVATE = "m.read.private"
    FULLY_READ = "m.fully_read"


RECEIPT_TYPES = (ReceiptTypes.READ, ReceiptTypes.READ_PRIVATE)
# The threads whose receipts mark the whole main timeline read.
_ROOM_WIDE_THREADS: tuple[str | None, ...] = (None, MAIN_THREAD)


def _thread_of(event: Event) -> str | None:
    """The thread root an event is directly in (``rel_type: m.thread``), if any."""
    relates_to = event.content.get("m.relates_to")
    if isinstance(relates_to, dict) and relates_to.get("rel_type") == "m.thread":
        root = relates_to.get("event_id")
        return root if isinstance(root, str) else None
    return None


def _ordering(event: Event) -> int:
    """An event's stream ordering (every event that reaches here has one)."""
    if event.stream_ordering is None:
        raise NotFound("Event not found in this room")
    return event.stream_ordering


def check_thread_id(thread_id: str | None, receipt_type: str) -> None:
    """A receipt's ``thread_id`` is None (unthreaded), ``main`` or a root's ID.

    Raises:
        InvalidParam: it names neither ``main`` nor an event, or it is given
            for ``m.fully_read``.
    """
    if thread_id is None:
        return
    if receipt_type == ReceiptTypes.FULLY_READ:
        raise InvalidParam("thread_id is not allowed for m.fully_read")
    if thread_id != MAIN_THREAD and not thread_id.startswith("$"):
        raise InvalidParam("thread_id must be 'main' or a thread root's event ID")


def _contents(user_id: str, found: Iterable[Receipt]) -> dict[str, JsonDict]:
    """room ID -> ``m.receipt`` content; other users' private receipts left out."""
    out: dict[str, JsonDict] = {}
    for receipt in found:
        if (
            receipt.receipt_type == ReceiptTypes.READ_PRIVATE
            and receipt.user_id != user_id
        ):
            continue
        entry: JsonDict = {"ts": receipt.ts}
        if receipt.thread_id is not None:
            entry["thread_id"] = receipt.thread_id
        by_event = out.setdefault(receipt.room_id, {})
        by_type = by_event.setdefault(receipt.event_id, {})
        by_type.setdefault(receipt.receipt_type, {})[receipt.user_id] = entry
    return out


class ReceiptService:
    """Sends receipts and read markers, and reads receipts for /sync.

    Args:
        store: where receipts live.
        events: to check the receipted event.
        permissions: to check the sender is joined.
        account_data: where the fully-read marker lives.
        notifier: woken on every change.
        stored: emitted for every receipt stored.
        clock: for the receipts' ``ts``.
    """

    def __init__(
        self,
        *,
        store: ReceiptStore,
        events: EventStore,
        permissions: RoomPermissions,
        account_data: AccountDataService,
        notifier: Notifier,
        stored: Signal[ReceiptStored],
        clock: Clock,
    ) -> None:
        self.store = store
        self.events = events
        self.permissions = permissions
        self.account_data = account_data
        self.notifier = notifier
        self.stored = stored
        self.clock = clock
        # The receipts stream's writer: here unless worker mode plugs another.
        self.writer: Port[ReceiptWriter] = Port(_LocalReceipts(self))

    async def send_receipt(
        self,
        requester: Requester,
        room_id: str,
        receipt_type: str,
        event_id: str,
        thread_id: str | None,
    ) -> JsonDict:
        """POST /rooms/{roomId}/receipt/{receiptType}/{eventId}."""
        if receipt_type not in (*RECEIPT_TYPES, ReceiptTypes.FULLY_READ):
            raise InvalidParam(
                "Receipt type must be m.read, m.read.private or m.fully_read"
            )
        check_thread_id(thread_id, receipt_type)
        user_id = requester.user_id
        await self._check_joined(room_id, user_id)
        event = await self._event_in_room(room_id, event_id)
        if receipt_type == ReceiptTypes.FULLY_READ:
            await self._set_fully_read(user_id, event)
            return {}
        source = _thread_of(event)
        if thread_id is not None and source is not None and thread_id != source:
            raise InvalidParam("The event is not in that thread")
        await self._set_receipt(user_id, receipt_type, event, thread_id)
        return {}

    async def set_read_markers(
        self, requester: Requester, room_id: str, wanted: Mapping[str, str]
    ) -> JsonDict:
        """POST /rooms/{roomId}/read_markers: the marker and/or read receipts.

        Every event is checked before anything is written.

        Args:
            requester: whose markers.
            room_id: the room.
            wanted: ``m.fully_read`` and receipt types -> event IDs.
        """
        user_id = requester.user_id
        await self._check_joined(room_id, user_id)
        events = {k: await self._event_in_room(room_id, v) for k, v in wanted.items()}
        for key, event in events.items():
            if key == ReceiptTypes.FULLY_READ:
                await self._set_fully_read(user_id, event)
            else:
                await self._set_receipt(user_id, key, event, None)
        return {}

    async def _check_joined(self, room_id: str, user_id: str) -> None:
        if not await self.permissions.is_joined(room_id, user_id):
            raise Forbidden("You are not joined to this room")

    async def _event_in_room(self, room_id: str, event_id: str) -> Event:
        event = await self.events.get_event(event_id)
        if event is None or event.room_id != room_id or event.stream_ordering is None:
            raise NotFound("Event not found in this room")
        return event

    async def apply_remote_receipt(
        self,
        user_id: str,
        receipt_type: str,
        event: Event,
        thread_id: str | None,
        ts: int,
    ) -> None:
        """Store a receipt that arrived over federation (already checked:
        the user is joined, the event is in the room)."""
        await self._set_receipt(user_id, receipt_type, event, thread_id, ts)

    async def _set_receipt(
        self,
        user_id: str,
        receipt_type: str,
        event: Event,
        thread_id: str | None,
        ts: int | None = None,
    ) -> None:
        receipt = Receipt(
            event.room_id,
            receipt_type,
            user_id,
            thread_id,
            event.event_id,
            self.clock.time_msec() if ts is None else ts,
        )
        await self.writer.get().write_receipt(receipt, _ordering(event))

    async def store_receipt(self, receipt: Receipt, ordering: int) -> None:
        """Store a checked receipt here, on the receipts stream's writer,
        and tell its audience (nothing if it would move backwards)."""
        position = await self.store.upsert_receipt(receipt, ordering)
        if position is None:
            return
        # Receivers first: a change cache fed here (sliding sync's own-read
        # cache) is up to date when the woken syncs look.
        self.stored.emit(ReceiptStored(receipt, position))
        user_id = receipt.user_id
        if receipt.receipt_type == ReceiptTypes.READ_PRIVATE:
            self.notifier.notify(RECEIPTS_STREAM, users=[user_id])
        else:
            self.notifier.notify(
                RECEIPTS_STREAM, users=[user_id], rooms=[receipt.room_id]
            )

    async def _set_fully_read(self, user_id: str, event: Event) -> None:
        """Move the m.fully_read room account data forwards to ``event``."""
        room_id = event.room_id
        current = await self.account_data.get_room_data(
            user_id, room_id, ReceiptTypes.FULLY_READ
        )
        current_id = (current or {}).get("event_id")
        if isinstance(current_id, str):
            if current_id == event.event_id:
                return
            previous = await self.events.get_event(current_id)
            if (
                previous is not None
                and previous.stream_ordering is not None
                and previous.stream_ordering > _ordering(event)
            ):
                return
        await self.account_data.update_room_data(
            user_id,
            room_id,
            ReceiptTypes.FULLY_READ,
            lambda _: {"event_id": event.event_id},
        )

    # -- for /sync ----------------------------------------------------------

    async def get_receipts_for_rooms(
        self,
        user_id: str,
        room_ids: Collection[str],
        since: int | None,
        upto: int,
    ) -> dict[str, JsonDict]:
        """The ``m.receipt`` ephemeral event content for each room, as ``user_id``
        may see it.

        Args:
            since: the client's receipts position; None for an initial sync,
                which gets every current receipt of the rooms.
            upto: the position the response is built at.

        Returns:
            room ID -> ``{event_id: {receipt_type: {user_id: {ts, thread_id?}}}}``
            with the receipts changed in (since, upto]; rooms without any are
            left out. Other users' ``m.read.private`` receipts never appear.
        """
        found = await self.store.get_receipts(room_ids, since, upto)
        return _contents(user_id, found)

    async def get_receipts_on_events(
        self, user_id: str, room_events: Mapping[str, Collection[str]], upto: int
    ) -> dict[str, JsonDict]:
        """Sliding sync's first receipts of rooms: those on the given events
        of each room and the user's own, as ``user_id`` may see them, at
        positions up to ``upto``; same shape as ``get_receipts_for_rooms``."""
        found = await self.store.get_receipts_on_events(room_events, user_id, upto)
        return _contents(user_id, found)

    async def get_user_read_positions(
        self, user_id: str, room_ids: Collection[str]
    ) -> dict[str, int]:
        """``get_user_read_position`` for many rooms at once (rooms without a
        receipt are left out)."""
        return await self.store.get_max_event_stream_orderings(
            user_id, room_ids, RECEIPT_TYPES, _ROOM_WIDE_THREADS
        )

    async def get_user_read_position(self, user_id: str, room_id: str) -> int | None:
        """The stream ordering of the event the user has read up to in a room.

        The newer of the user's ``m.read`` and ``m.read.private`` receipts,
        unthreaded or for the main timeline (spec: "Receiving notifications");
        None if the user has neither.
        """
        return await self.store.get_max_event_stream_ordering(
            user_id, room_id, RECEIPT_TYPES, _ROOM_WIDE_THREADS
        )


class _LocalReceipts:
    """The null writer: receipts are stored by this process."""

    def __init__(self, service: ReceiptService) -> None:
        self.service = service

    async def write_receipt(self, receipt: Receipt, ordering: int) -> None:
        await self.service.store_receipt(receipt, ordering)
