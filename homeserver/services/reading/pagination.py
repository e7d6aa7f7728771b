"""Reading a room's timeline: /messages and /context.

Spec: client-server API, "Getting events for a room" (GET /messages, GET
/context), "Lazy-loading room members". Pages are in topological order (depth,
then stream ordering); only events the user may see are returned, and a page is
topped up from further rows when some were hidden, up to MAX_ROUNDS queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs

from homeserver.errors import NotFound
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.filters import RoomEventFilter
from homeserver.services.reading.personal import PersonalFilter, PersonalView
from homeserver.services.reading.serializer import EventSerializer
from homeserver.services.reading.visibility import (
    RoomAccess,
    UserVisibility,
    VisibilityService,
)
from homeserver.storage.stores.event_state import EventStateStore, StateSelection
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.stream import EventRowFilter, StreamStore
from homeserver.streams.tokens import (
    START_OF_ROOM,
    Direction,
    RoomStreamToken,
    TopologicalPosition,
)
from homeserver.types import JsonDict
from homeserver.util.ports import Port

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
MAX_ROUNDS = 5


@attrs.frozen
class MessagesRequest:
    """GET /rooms/{roomId}/messages, parsed."""

    direction: Direction
    from_token: RoomStreamToken | None = None
    to_token: RoomStreamToken | None = None
    limit: int | None = None
    event_filter: RoomEventFilter | None = None


@attrs.frozen
class Page:
    """Events read from the timeline, and where reading stopped.

    Args:
        next_token: continues past the last row examined.
        exhausted: nothing further exists in that direction (within the bounds).
    """

    events: list[Event]
    next_token: RoomStreamToken
    exhausted: bool


class HistoryBackfill(Protocol):
    """Fetches history we lack from other servers (federation backfill)."""

    async def should_backfill(
        self, room_id: str, page: Sequence[Event], limit: int
    ) -> bool:
        """Whether a backwards page read up to a gap in the room's history."""
        ...

    async def backfill(self, room_id: str, limit: int) -> bool:
        """Fill the gaps; whether anything new was stored."""
        ...


class NoBackfill:
    """Federation off: the history we hold is all there is."""

    async def should_backfill(
        self, room_id: str, page: Sequence[Event], limit: int
    ) -> bool:
        return False

    async def backfill(self, room_id: str, limit: int) -> bool:
        return False


def position_of(event: Event) -> TopologicalPosition:
    """An event's topological position."""
    return TopologicalPosition(event.depth, event.stream_ordering or 0)


def row_filter_for(event_filter: RoomEventFilter | None) -> EventRowFilter | None:
    """What of ``event_filter`` SQL can apply; the rest is checked in Python."""
    if event_filter is None:
        return None
    types = event_filter.types
    return EventRowFilter(
        types=None if types is None else tuple(types),
        not_types=tuple(event_filter.not_types),
        senders=None if event_filter.senders is None else tuple(event_filter.senders),
        not_senders=tuple(event_filter.not_senders),
        related_by_rel_types=_tuple_or_none(event_filter.related_by_rel_types),
        related_by_senders=_tuple_or_none(event_filter.related_by_senders),
    )


def _tuple_or_none(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def _resolve_limit(limit: int | None, event_filter: RoomEventFilter | None) -> int:
    if limit is None:
        limit = (
            event_filter.limit if event_filter and event_filter.limit else DEFAULT_LIMIT
        )
    return min(limit, MAX_LIMIT)


class PaginationService:
    """Pages of visible events, with the member state clients need to show them."""

    def __init__(
        self,
        *,
        events: EventStore,
        stream: StreamStore,
        event_state: EventStateStore,
        visibility: VisibilityService,
        personal: PersonalFilter,
        serializer: EventSerializer,
    ) -> None:
        self.events = events
        self.stream = stream
        self.event_state = event_state
        self.visibility = visibility
        self.personal = personal
        self.serializer = serializer
        # Pages that reach a gap in a room's history backfill it from other
        # servers first (federation plugs itself in).
        self.backfiller: Port[HistoryBackfill] = Port(NoBackfill())

    async def get_messages(
        self, requester: Requester, room_id: str, request: MessagesRequest
    ) -> JsonDict:
        """GET /rooms/{roomId}/messages."""
        access = await self.visibility.check_room_access(room_id, requester.user_id)
        direction = request.direction
        from_token = request.from_token
        if from_token is None:
            backwards = direction is Direction.BACKWARDS
            from_token = self.stream.current_token() if backwards else START_OF_ROOM
        limit = _resolve_limit(request.limit, request.event_filter)
        viewer = await self.visibility.for_user(room_id, requester.user_id)
        personal = await self.personal.view(requester.user_id)
        for attempt in range(2):
            page = await self.read_page(
                room_id,
                viewer,
                from_token,
                direction,
                limit,
                to_token=request.to_token,
                not_after=_leave_bound(access),
                event_filter=request.event_filter,
                personal=personal,
            )
            if attempt or not await self._backfilled(room_id, direction, page, limit):
                break
        result: JsonDict = {
            "start": from_token.to_string(),
            "chunk": await self.serializer.serialize(page.events, requester),
        }
        # As Synapse: ``end`` is left out only when nothing was left to read;
        # a page that reached the start (or end) of the room still has one,
        # and the page after it is empty and has none. Clients rely on it.
        if page.events or not page.exhausted:
            result["end"] = page.next_token.to_string()
        event_filter = request.event_filter
        if event_filter is not None and event_filter.lazy_load_members and page.events:
            members = await self.lazy_members(
                page.events[0], page.events, event_filter.include_redundant_members
            )
            result["state"] = await self.serializer.serialize(members, requester)
        return result

    async def _backfilled(
        self, room_id: str, direction: Direction, page: Page, limit: int
    ) -> bool:
        """Backfill when a backwards page reached a gap; whether it did."""
        backfiller = self.backfiller.get()
        if direction is not Direction.BACKWARDS:
            return False
        if not await backfiller.should_backfill(room_id, page.events, limit):
            return False
        return await backfiller.backfill(room_id, limit)

    async def get_context(
        self,
        requester: Requester,
        room_id: str,
        event_id: str,
        limit: int | None,
        event_filter: RoomEventFilter | None,
    ) -> JsonDict:
        """GET /rooms/{roomId}/context/{eventId}."""
        access = await self.visibility.check_room_access(room_id, requester.user_id)
        viewer = await self.visibility.for_user(room_id, requester.user_id)
        personal = await self.personal.view(requester.user_id)
        found = await self.events.get_event(event_id)
        event = await viewer.seen(found if found and found.room_id == room_id else None)
        if event is None or personal.hides(event):
            raise NotFound("Event not found")
        total = _resolve_limit(limit, event_filter)
        before_limit = total // 2
        position = position_of(event)
        bound = _leave_bound(access)
        before = await self.read_page(
            room_id,
            viewer,
            RoomStreamToken.before_event(position),
            Direction.BACKWARDS,
            before_limit,
            not_after=bound,
            event_filter=event_filter,
            personal=personal,
        )
        after = await self.read_page(
            room_id,
            viewer,
            RoomStreamToken.at_event(position),
            Direction.FORWARDS,
            total - before_limit,
            not_after=bound,
            event_filter=event_filter,
            personal=personal,
        )
        last = after.events[-1] if after.events else event
        state = await self._context_state(
            last, [*before.events, event, *after.events], event_filter
        )
        return {
            "start": before.next_token.to_string(),
            "end": after.next_token.to_string(),
            "events_before": await self.serializer.serialize(before.events, requester),
            "event": await self.serializer.serialize_one(event, requester),
            "events_after": await self.serializer.serialize(after.events, requester),
            "state": await self.serializer.serialize(state, requester),
        }

    async def read_page(
        self,
        room_id: str,
        viewer: UserVisibility,
        from_token: RoomStreamToken,
        direction: Direction,
        limit: int,
        *,
        to_token: RoomStreamToken | None = None,
        not_after: RoomStreamToken | None = None,
        event_filter: RoomEventFilter | None = None,
        personal: PersonalView | None = None,
    ) -> Page:
        """Up to ``limit`` events the viewer may see, reading past hidden ones
        (and past those ``personal`` takes out: ignored senders, hidden events)."""
        collected: list[Event] = []
        token = from_token
        if limit <= 0:
            return Page(collected, token, False)
        row_filter = row_filter_for(event_filter)
        for attempt in range(MAX_ROUNDS):
            # Read ahead, and further each round, in case many rows are hidden.
            batch = min(2 * (limit - len(collected)) << attempt, MAX_LIMIT)
            positions = await self.stream.paginate(
                room_id,
                token,
                direction,
                batch,
                to_token=to_token,
                not_after=not_after,
                row_filter=row_filter,
            )
            exhausted = len(positions) < batch
            fetched = await self.events.get_events([p.event_id for p in positions])
            candidates = [
                fetched[p.event_id] for p in positions if p.event_id in fetched
            ]
            if event_filter is not None:
                candidates = event_filter.filter(candidates)
            if personal is not None:
                candidates = personal.filter(candidates)
            # What the viewer sees of each (erased senders: redacted).
            visible = {e.event_id: e for e in await viewer.filter(candidates)}
            for index, position in enumerate(positions):
                token = RoomStreamToken.after_event(position.topological, direction)
                if position.event_id in visible:
                    collected.append(visible[position.event_id])
                    if len(collected) == limit:
                        last_row = index == len(positions) - 1
                        return Page(collected, token, exhausted and last_row)
            if exhausted:
                return Page(collected, token, True)
        return Page(collected, token, False)

    async def lazy_members(
        self, at: Event, events: Sequence[Event], include_redundant: bool
    ) -> list[Event]:
        """Member events, in the state after ``at``, of the senders of ``events``."""
        keys = frozenset((EventTypes.MEMBER, e.sender) for e in events)
        state = await self.event_state.get_state_ids_for_event(
            at.event_id, StateSelection(keys=keys)
        )
        found = await self.events.get_events(
            _member_ids(state or {}, events, include_redundant)
        )
        return sorted(found.values(), key=lambda e: e.state_key or "")

    async def _context_state(
        self, last: Event, events: Sequence[Event], event_filter: RoomEventFilter | None
    ) -> list[Event]:
        """The state after ``last``, through the filter; when lazy-loading, the
        non-member state plus the members who sent ``events``."""
        state_ids = await self.event_state.get_state_ids_for_event(
            last.event_id, StateSelection.all()
        )
        state_ids = state_ids or {}
        lazy = event_filter is not None and event_filter.lazy_load_members
        ids = [
            eid
            for key, eid in state_ids.items()
            if not lazy or key[0] != EventTypes.MEMBER
        ]
        member_ids: set[str] = set()
        if event_filter is not None and lazy:
            member_ids = _member_ids(
                state_ids, events, event_filter.include_redundant_members
            )
        found = await self.events.get_events([*ids, *member_ids])
        state = [found[eid] for eid in ids if eid in found]
        if event_filter is not None:
            state = event_filter.filter(state)
        members = [found[eid] for eid in member_ids if eid in found]
        return _sorted_state(state) + _sorted_state(members)


def _member_ids(
    state: Mapping[StateKey, str], events: Sequence[Event], include_redundant: bool
) -> set[str]:
    """The member event IDs in ``state`` of the senders of ``events``.

    Without ``include_redundant``, member events among ``events`` themselves are
    left out: the client has them in the same response. (Nothing is remembered
    across requests: clients that drop their timeline must still get members.)
    """
    ids = {
        state[key]
        for key in {(EventTypes.MEMBER, e.sender) for e in events}
        if key in state
    }
    if not include_redundant:
        ids -= {e.event_id for e in events}
    return ids


def _sorted_state(events: Sequence[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.type, e.state_key or ""))


def _leave_bound(access: RoomAccess) -> RoomStreamToken | None:
    """Departed users read nothing after their leave (the visibility rules agree;
    bounding the query saves reading rows only to hide them)."""
    if access.left_event is None:
        return None
    return RoomStreamToken.at_event(position_of(access.left_event))
