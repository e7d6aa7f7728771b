"""Server-side search over room events.

Spec: client-server API, "Server Side Search" (POST /search, category
``room_events``). The user searches the rooms they are in, and the rooms they
have left (unless forgotten) up to their leave; every result, and every event
of its context, is one the user may see under the room's history visibility
(``choose_results``, the one place result events are chosen for a user).
Redacted events are removed from the index when the redaction is stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import attrs

from homeserver.errors import Codes, InvalidParam, MatrixError
from homeserver.events.model import Event
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.pagination import MAX_ROUNDS, row_filter_for
from homeserver.services.reading.serializer import EventSerializer
from homeserver.services.reading.visibility import VisibilityService
from homeserver.services.search.context import SearchContexts
from homeserver.services.search.model import BatchToken, SearchRequest
from homeserver.services.search.rooms import SearchableRooms
from homeserver.storage.stores.event_state import EventStateStore, StateSelection
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.search import SearchCriteria, SearchHit, SearchStore
from homeserver.storage.stores.search_index import indexed_value
from homeserver.storage.stores.search_query import SearchTerms, parse_search_term
from homeserver.types import JsonDict
from homeserver.util.ports import Port

_WORD = re.compile(r"\w+", re.UNICODE)


class UserEventFilter(Protocol):
    """Hides further events from one user (beyond history visibility)."""

    async def filter_events(self, user_id: str, events: Sequence[Event]) -> list[Event]:
        """The events of ``events`` the user is to be shown, in order."""
        ...


class NoUserEventFilter:
    """Nothing further is hidden."""

    async def filter_events(self, user_id: str, events: Sequence[Event]) -> list[Event]:
        return list(events)


@attrs.define
class _Page:
    """Results read so far, and where reading stopped."""

    events: list[Event] = attrs.Factory(list)
    ranks: dict[str, float] = attrs.Factory(dict)
    position: tuple[int, int] | None = None
    more: bool = False
    # room ID -> hits of that room read on this page (room groups' rank tokens).
    read_in_room: dict[str, int] = attrs.Factory(dict)


class SearchService:
    """POST /search."""

    def __init__(
        self,
        *,
        enabled: bool,
        store: SearchStore,
        events: EventStore,
        event_state: EventStateStore,
        room_state: RoomStateStore,
        visibility: VisibilityService,
        serializer: EventSerializer,
        contexts: SearchContexts,
        rooms: SearchableRooms,
    ) -> None:
        self.enabled = enabled
        self.store = store
        self.events = events
        self.event_state = event_state
        self.room_state = room_state
        self.visibility = visibility
        self.serializer = serializer
        self.contexts = contexts
        self.rooms = rooms
        # Per-user hiding (ignored users, events deleted for oneself) plugs in here.
        self.user_filter: Port[UserEventFilter] = Port(NoUserEventFilter())

    async def choose_results(
        self, user_id: str, events: Sequence[Event]
    ) -> list[Event]:
        """The events of ``events`` (results or context) shown to ``user_id``,
        in order: history visibility, then any per-user filter."""
        visible = await self.visibility.filter_events_for_user(user_id, events)
        return await self.user_filter.get().filter_events(user_id, visible)

    async def search(self, requester: Requester, request: SearchRequest) -> JsonDict:
        """The ``search_categories`` answer for ``room_events``.

        Raises:
            MatrixError: 400 M_UNKNOWN when search is disabled.
            InvalidParam: 400 M_INVALID_PARAM for a bad ``next_batch``.
        """
        if not self.enabled:
            raise MatrixError(
                400, "Search is disabled on this homeserver", Codes.UNKNOWN
            )
        batch = BatchToken.decode(request.next_batch) if request.next_batch else None
        if batch is not None and batch.order != request.order_by:
            raise InvalidParam("next_batch belongs to another order_by")
        terms = parse_search_term(request.search_term)
        room_ids = await self._rooms(requester.user_id, request, batch)
        criteria = SearchCriteria(
            room_ids=tuple(room_ids),
            terms=terms,
            keys=request.keys,
            row_filter=row_filter_for(request.event_filter),
            order=request.order_by,
        )
        page = await self._read(
            requester.user_id, criteria, request, batch.position if batch else None
        )
        answer: JsonDict = {
            "results": await self._results(requester, page, request),
            "count": await self.store.count(criteria),
            "highlights": _highlights(terms, page.events),
        }
        if page.more and page.position is not None:
            answer["next_batch"] = BatchToken(
                request.order_by, page.position, batch.room_id if batch else None
            ).encode()
        groups = self._groups(page, request)
        if groups:
            answer["groups"] = groups
        if request.include_state:
            answer["state"] = await self._state(requester, page.events)
        return {"search_categories": {"room_events": answer}}

    async def _rooms(
        self, user_id: str, request: SearchRequest, batch: BatchToken | None
    ) -> list[str]:
        """The rooms searched (``rooms.py``), within a room group's token."""
        rooms = await self.rooms.rooms_for(user_id, request.event_filter)
        if batch is not None and batch.room_id is not None:
            rooms = [r for r in rooms if r == batch.room_id]
        return rooms

    async def _read(
        self,
        user_id: str,
        criteria: SearchCriteria,
        request: SearchRequest,
        position: tuple[int, int] | None,
    ) -> _Page:
        """Up to ``request.limit`` results the user may see, reading past the
        ones they may not, for up to ``MAX_ROUNDS`` queries."""
        limit = request.limit
        page = _Page(position=position)
        # The rooms are chosen already (with predecessors the filter did not name).
        event_filter = (
            attrs.evolve(request.event_filter, rooms=None, not_rooms=[])
            if request.event_filter is not None
            else None
        )
        for attempt in range(MAX_ROUNDS):
            batch = min(2 * (limit - len(page.events)) << attempt, 1000)
            hits = await self.store.search(criteria, page.position, batch)
            fetched = await self.events.get_events([h.event_id for h in hits])
            candidates = [fetched[h.event_id] for h in hits if h.event_id in fetched]
            if event_filter is not None:
                candidates = event_filter.filter(candidates)
            shown = {e.event_id for e in await self.choose_results(user_id, candidates)}
            for index, hit in enumerate(hits):
                page.position = _advance(criteria, page.position, hit)
                room_id = (
                    fetched[hit.event_id].room_id if hit.event_id in fetched else ""
                )
                page.read_in_room[room_id] = page.read_in_room.get(room_id, 0) + 1
                if hit.event_id in shown:
                    page.events.append(fetched[hit.event_id])
                    page.ranks[hit.event_id] = hit.rank
                    if len(page.events) == limit:
                        page.more = index < len(hits) - 1 or len(hits) == batch
                        return page
            if len(hits) < batch:
                return page
        page.more = True
        return page

    async def _results(
        self, requester: Requester, page: _Page, request: SearchRequest
    ) -> list[JsonDict]:
        contexts: dict[str, JsonDict] = {}
        if request.event_context is not None:
            contexts = await self.contexts.contexts(
                requester, page.events, request.event_context, self.choose_results
            )
        served = await self.serializer.serialize(page.events, requester)
        return [
            {
                "rank": page.ranks[event.event_id],
                "result": body,
                "context": contexts.get(event.event_id, {}),
            }
            for event, body in zip(page.events, served, strict=True)
        ]

    def _groups(self, page: _Page, request: SearchRequest) -> JsonDict:
        """``groups`` by room and by sender, each group in result order."""
        groups: JsonDict = {}
        for key in dict.fromkeys(request.group_by):
            found: JsonDict = {}
            for index, event in enumerate(page.events):
                value = event.room_id if key == "room_id" else event.sender
                group = found.setdefault(value, {"results": [], "order": index + 1})
                group["results"].append(event.event_id)
            if key == "room_id" and page.more and page.position is not None:
                for room_id, group in found.items():
                    position = _group_position(page, request, room_id)
                    if position is not None:
                        group["next_batch"] = BatchToken(
                            request.order_by, position, room_id
                        ).encode()
            groups[key] = found
        return groups

    async def _state(self, requester: Requester, events: Sequence[Event]) -> JsonDict:
        """The state of each room with results: its current state for a member,
        the state at their leave for someone who left."""
        out: JsonDict = {}
        for room_id in dict.fromkeys(e.room_id for e in events):
            access = await self.visibility.check_room_access(room_id, requester.user_id)
            if access.left_event is not None:
                ids = await self.event_state.get_state_ids_for_event(
                    access.left_event.event_id, StateSelection.all()
                )
            else:
                ids = await self.room_state.get_current_state_ids(room_id)
            state = await self.events.get_events(list((ids or {}).values()))
            ordered = sorted(state.values(), key=lambda e: (e.type, e.state_key or ""))
            out[room_id] = await self.serializer.serialize(ordered, requester)
        return out


def _advance(
    criteria: SearchCriteria, position: tuple[int, int] | None, hit: SearchHit
) -> tuple[int, int]:
    """The position after reading ``hit``."""
    if criteria.order == "recent":
        return (hit.origin_server_ts, hit.stream_ordering)
    return ((position[0] if position else 0) + 1, 0)


def _group_position(
    page: _Page, request: SearchRequest, room_id: str
) -> tuple[int, int] | None:
    """Where a room group's ``next_batch`` continues within that room.

    By recency, the global position serves every room. By rank, it is the
    number of that room's hits read: known for a first page (every hit read
    was on it) and for a page already within one room; not after a global
    page, so no group token is given then.
    """
    if request.order_by == "recent":
        return page.position
    if request.next_batch is None:
        return (page.read_in_room.get(room_id, 0), 0)
    if BatchToken.decode(request.next_batch).room_id == room_id:
        return page.position
    return None


def _highlights(terms: SearchTerms, events: Sequence[Event]) -> list[str]:
    """Words to highlight: the words searched for, and the words of the
    results that they matched (as prefixes, the way the search does)."""
    wanted = terms.words
    found = dict.fromkeys(wanted)
    for event in events:
        value = indexed_value(event)
        if value is None:
            continue
        for word in _WORD.findall(value[1]):
            lowered = word.lower()
            if any(lowered.startswith(w) for w in wanted):
                found.setdefault(lowered)
    return sorted(found)
