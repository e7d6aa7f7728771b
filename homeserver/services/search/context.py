"""``event_context`` of search results: the events around each result, and
the senders' profiles as they were then.

Spec: client-server API, "Server Side Search" (``event_context``,
``profile_info``). The context is read like /context: only events the user
may see, through the same result chooser as the results themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from homeserver.events.model import Event, EventTypes
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.pagination import PaginationService, position_of
from homeserver.services.reading.serializer import EventSerializer
from homeserver.services.reading.visibility import UserVisibility, VisibilityService
from homeserver.services.search.model import EventContextRequest
from homeserver.storage.stores.event_state import EventStateStore, StateSelection
from homeserver.storage.stores.events import EventStore
from homeserver.streams.tokens import Direction, RoomStreamToken
from homeserver.types import JsonDict

Chooser = Callable[[str, Sequence[Event]], Awaitable[list[Event]]]


class SearchContexts:
    """Builds the ``context`` of each search result."""

    def __init__(
        self,
        *,
        events: EventStore,
        event_state: EventStateStore,
        visibility: VisibilityService,
        pagination: PaginationService,
        serializer: EventSerializer,
    ) -> None:
        self.events = events
        self.event_state = event_state
        self.visibility = visibility
        self.pagination = pagination
        self.serializer = serializer

    async def contexts(
        self,
        requester: Requester,
        results: Sequence[Event],
        request: EventContextRequest,
        choose: Chooser,
    ) -> dict[str, JsonDict]:
        """event ID -> its ``context``, for every result."""
        viewers: dict[str, UserVisibility] = {}
        out: dict[str, JsonDict] = {}
        for event in results:
            viewer = viewers.get(event.room_id)
            if viewer is None:
                viewer = await self.visibility.for_user(
                    event.room_id, requester.user_id
                )
                viewers[event.room_id] = viewer
            out[event.event_id] = await self._context(
                requester, event, viewer, request, choose
            )
        return out

    async def _context(
        self,
        requester: Requester,
        event: Event,
        viewer: UserVisibility,
        request: EventContextRequest,
        choose: Chooser,
    ) -> JsonDict:
        position = position_of(event)
        before = await self.pagination.read_page(
            event.room_id,
            viewer,
            RoomStreamToken.before_event(position),
            Direction.BACKWARDS,
            request.before_limit,
        )
        after = await self.pagination.read_page(
            event.room_id,
            viewer,
            RoomStreamToken.at_event(position),
            Direction.FORWARDS,
            request.after_limit,
        )
        events_before = await choose(requester.user_id, before.events)
        events_after = await choose(requester.user_id, after.events)
        context: JsonDict = {
            "start": before.next_token.to_string(),
            "end": after.next_token.to_string(),
            "events_before": await self.serializer.serialize(events_before, requester),
            "events_after": await self.serializer.serialize(events_after, requester),
        }
        if request.include_profile:
            last = events_after[-1] if events_after else event
            senders = {e.sender for e in [*events_before, event, *events_after]}
            context["profile_info"] = await self._profiles(last, senders)
        return context

    async def _profiles(self, last: Event, senders: set[str]) -> JsonDict:
        """Each sender's display name and avatar in the state after ``last``."""
        keys = frozenset((EventTypes.MEMBER, sender) for sender in senders)
        state = await self.event_state.get_state_ids_for_event(
            last.event_id, StateSelection(keys=keys)
        )
        members = await self.events.get_events(list((state or {}).values()))
        profiles: JsonDict = {}
        for member in members.values():
            if member.state_key not in senders:
                continue
            content = member.content
            profiles[member.state_key] = {
                "displayname": _text(content.get("displayname")),
                "avatar_url": _text(content.get("avatar_url")),
            }
        return profiles


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
