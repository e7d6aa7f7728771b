"""Delete for me: a user hides an event from their own view on all devices.

A Chatly extension (docs/extensions/delete-for-me.md). The ``hidden_events``
table is what the server filters by (through ``PersonalFilter``); the user's
devices learn of each change through the room account data event
``chatly.hidden_events`` (``{"event_ids": [...]}``), which only the server
writes. Nobody else is affected, and the event itself is untouched.
"""

from __future__ import annotations

from typing import Protocol

from homeserver.errors import InvalidParam, MatrixError, NotFound
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.visibility import VisibilityService
from homeserver.storage.stores.account_data import ContentUpdate
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.hidden_events import HiddenEvent, HiddenEventsStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

HIDDEN_EVENTS_TYPE = "chatly.hidden_events"
# One account data event per room carries the room's whole list: keep it small.
MAX_HIDDEN_PER_ROOM = 1000
TOO_MANY_HIDDEN = "CHATLY_TOO_MANY_HIDDEN_EVENTS"
DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 1000
MAX_ROOM_ID_BYTES = 255


class RoomAccountData(Protocol):
    """Read-modify-write of a user's room account data (sync_data has it)."""

    async def update_room_data(
        self, user_id: str, room_id: str, data_type: str, update: ContentUpdate
    ) -> bool:
        """Apply ``update`` atomically; whether anything was written."""
        ...


def _check_room_id(room_id: str) -> None:
    if not room_id.startswith("!") or len(room_id.encode()) > MAX_ROOM_ID_BYTES:
        raise InvalidParam(f"{room_id!r} is not a valid room ID")


def _ids_of(content: JsonDict | None) -> list[str]:
    ids = (content or {}).get("event_ids")
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def _adding(event_id: str) -> ContentUpdate:
    def update(current: JsonDict | None) -> JsonDict | None:
        ids = _ids_of(current)
        if event_id in ids:
            return None
        return {"event_ids": sorted([*ids, event_id])}

    return update


def _removing(event_id: str) -> ContentUpdate:
    def update(current: JsonDict | None) -> JsonDict | None:
        ids = _ids_of(current)
        if event_id not in ids:
            return None
        return {"event_ids": [i for i in ids if i != event_id]}

    return update


def _listed(found: list[HiddenEvent], offset: int, limit: int) -> JsonDict:
    body: JsonDict = {
        "chunk": [
            {"room_id": h.room_id, "event_id": h.event_id, "hidden_ts": h.hidden_ts}
            for h in found[:limit]
        ]
    }
    if len(found) > limit:
        body["next_batch"] = str(offset + limit)
    return body


def parse_page(from_token: str | None, limit: int | None) -> tuple[int, int]:
    """The offset and limit of a list request (400 M_INVALID_PARAM if bad)."""
    offset = 0
    if from_token is not None:
        if not (from_token.isascii() and from_token.isdigit()) or len(from_token) > 12:
            raise InvalidParam("Invalid 'from' token")
        offset = int(from_token)
    if limit is None:
        limit = DEFAULT_LIST_LIMIT
    if limit < 1:
        raise InvalidParam("limit must be positive")
    return offset, min(limit, MAX_LIST_LIMIT)


class HiddenEventsService:
    """Hide, unhide and list a user's hidden events.

    Args:
        store: the hidden_events table.
        events: to find the event being hidden.
        visibility: only an event the user may see can be hidden.
        room_data: where the ``chatly.hidden_events`` account data goes.
        clock: for ``hidden_ts``.
    """

    def __init__(
        self,
        *,
        store: HiddenEventsStore,
        events: EventStore,
        visibility: VisibilityService,
        room_data: RoomAccountData,
        clock: Clock,
    ) -> None:
        self.store = store
        self.events = events
        self.visibility = visibility
        self.room_data = room_data
        self.clock = clock

    async def hide(self, requester: Requester, room_id: str, event_id: str) -> JsonDict:
        """PUT /_chatly/client/v1/rooms/{roomId}/hidden/{eventId}.

        Raises:
            NotFound: the event is not in that room, or the user may not see it.
            InvalidParam: it is a state event (state stays whole).
            MatrixError: 400 CHATLY_TOO_MANY_HIDDEN_EVENTS past the per-room cap.
        """
        user_id = requester.user_id
        _check_room_id(room_id)
        await self.visibility.check_room_access(room_id, user_id)
        event = await self.events.get_event(event_id)
        if event is None or event.room_id != room_id:
            raise NotFound("Event not found")
        viewer = await self.visibility.for_user(room_id, user_id)
        if not await viewer.is_visible(event):
            raise NotFound("Event not found")
        if event.state_key is not None:
            raise InvalidParam("State events cannot be hidden")
        added = await self.store.insert_hidden_event(
            user_id, room_id, event_id, self.clock.time_msec(), MAX_HIDDEN_PER_ROOM
        )
        if added is None:
            raise MatrixError(
                400,
                f"At most {MAX_HIDDEN_PER_ROOM} events can be hidden in one room",
                TOO_MANY_HIDDEN,
            )
        # Also when it was hidden already: a retry repairs an account data
        # write that failed after the row was stored.
        await self.room_data.update_room_data(
            user_id, room_id, HIDDEN_EVENTS_TYPE, _adding(event_id)
        )
        return {}

    async def unhide(
        self, requester: Requester, room_id: str, event_id: str
    ) -> JsonDict:
        """DELETE /_chatly/client/v1/rooms/{roomId}/hidden/{eventId} (idempotent)."""
        user_id = requester.user_id
        _check_room_id(room_id)
        await self.store.delete_hidden_event(user_id, room_id, event_id)
        await self.room_data.update_room_data(
            user_id, room_id, HIDDEN_EVENTS_TYPE, _removing(event_id)
        )
        return {}

    async def list_room(
        self,
        requester: Requester,
        room_id: str,
        from_token: str | None,
        limit: int | None,
    ) -> JsonDict:
        """GET /_chatly/client/v1/rooms/{roomId}/hidden."""
        _check_room_id(room_id)
        offset, limit = parse_page(from_token, limit)
        found = await self.store.get_hidden_events(
            requester.user_id, room_id, offset, limit + 1
        )
        return _listed(found, offset, limit)

    async def list_all(
        self, requester: Requester, from_token: str | None, limit: int | None
    ) -> JsonDict:
        """GET /_chatly/client/v1/hidden."""
        offset, limit = parse_page(from_token, limit)
        found = await self.store.get_hidden_events(
            requester.user_id, None, offset, limit + 1
        )
        return _listed(found, offset, limit)
