"""Reading single events, room state and members.

Spec: client-server API, "Getting events for a room": GET /event/{eventId},
/state, /state/{eventType}/{stateKey}, /members, /joined_members, and
GET /v1/rooms/{roomId}/timestamp_to_event.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from homeserver.errors import Forbidden, InvalidParam, NotFound
from homeserver.events.model import Event, EventTypes, Membership, StateKey
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.personal import PersonalFilter
from homeserver.services.reading.serializer import EventSerializer
from homeserver.services.reading.visibility import RoomAccess, VisibilityService
from homeserver.storage.stores.event_state import EventStateStore, StateSelection
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.stream import EventPosition, StreamStore
from homeserver.streams.tokens import Direction, RoomStreamToken
from homeserver.types import JsonDict

MEMBERSHIPS = Membership.ALL
TIMESTAMP_BATCH = 20
TIMESTAMP_MAX_ROUNDS = 10


@attrs.frozen
class MembersRequest:
    """GET /rooms/{roomId}/members, parsed.

    Args:
        at: the point in the timeline to list members at.
        membership: keep members with this membership ...
        not_membership: ... or (with both given: either/or, as the spec says)
            those without this one.
    """

    at: RoomStreamToken | None = None
    membership: str | None = attrs.field(default=None)
    not_membership: str | None = attrs.field(default=None)

    @membership.validator
    @not_membership.validator
    def _check(self, attribute: attrs.Attribute, value: str | None) -> None:
        if value is not None and value not in MEMBERSHIPS:
            raise InvalidParam(
                f"{attribute.name} must be one of {', '.join(MEMBERSHIPS)}"
            )

    def includes(self, membership: str | None) -> bool:
        """Whether a member with ``membership`` is listed."""
        checks = []
        if self.membership is not None:
            checks.append(membership == self.membership)
        if self.not_membership is not None:
            checks.append(membership != self.not_membership)
        return not checks or any(checks)


class RoomReadService:
    """Events, state and members, as the requesting user may see them."""

    def __init__(
        self,
        *,
        events: EventStore,
        room_state: RoomStateStore,
        event_state: EventStateStore,
        stream: StreamStore,
        visibility: VisibilityService,
        personal: PersonalFilter,
        serializer: EventSerializer,
    ) -> None:
        self.events = events
        self.room_state = room_state
        self.event_state = event_state
        self.stream = stream
        self.visibility = visibility
        self.personal = personal
        self.serializer = serializer

    async def get_event(
        self, requester: Requester, room_id: str, event_id: str
    ) -> JsonDict:
        """GET /rooms/{roomId}/event/{eventId}: 404 if unknown or not visible
        (or sent by a user the requester ignores, or hidden by them)."""
        event = await self.events.get_event(event_id)
        if event is None or event.room_id != room_id:
            raise NotFound("Event not found")
        viewer = await self.visibility.for_user(room_id, requester.user_id)
        seen = await viewer.seen(event)
        if seen is None or await self.personal.is_hidden(requester.user_id, seen):
            raise NotFound("Event not found")
        return await self.serializer.serialize_one(seen, requester)

    async def get_state(self, requester: Requester, room_id: str) -> list[JsonDict]:
        """GET /rooms/{roomId}/state: current, or as it was when the user left."""
        access = await self.visibility.check_room_access(room_id, requester.user_id)
        state_ids = await self._state_ids(access, StateSelection.all())
        found = await self._accepted(state_ids.values())
        events = sorted(found.values(), key=lambda e: (e.type, e.state_key or ""))
        return await self.serializer.serialize(events, requester)

    async def get_state_event(
        self,
        requester: Requester,
        room_id: str,
        event_type: str,
        state_key: str,
        as_event: bool,
    ) -> JsonDict:
        """GET /rooms/{roomId}/state/{eventType}/{stateKey}: content, or the event."""
        access = await self.visibility.check_room_access(room_id, requester.user_id)
        key = (event_type, state_key)
        if access.left_event is None:
            event_id = await self.room_state.get_current_state_event_id(
                room_id, event_type, state_key
            )
        else:
            selection = StateSelection(keys=frozenset({key}))
            event_id = (await self._state_ids(access, selection)).get(key)
        event = await self.events.get_event(event_id) if event_id else None
        if event is None or event.rejected_reason is not None:
            raise NotFound("Event not found")
        body = await self.serializer.serialize_one(event, requester)
        return body if as_event else dict(body.get("content", {}))

    async def get_members(
        self, requester: Requester, room_id: str, request: MembersRequest
    ) -> JsonDict:
        """GET /rooms/{roomId}/members."""
        access = await self.visibility.check_room_access(room_id, requester.user_id)
        selection = StateSelection(types=frozenset({EventTypes.MEMBER}))
        if request.at is not None:
            state_ids = await self._state_ids_at(access, request.at, selection)
        else:
            state_ids = await self._state_ids(access, selection)
        found = await self._accepted(state_ids.values())
        members = sorted(
            (e for e in found.values() if request.includes(e.membership)),
            key=lambda e: e.state_key or "",
        )
        return {"chunk": await self.serializer.serialize(members, requester)}

    async def get_joined_members(self, requester: Requester, room_id: str) -> JsonDict:
        """GET /rooms/{roomId}/joined_members: only for members of the room."""
        access = await self.visibility.check_room_access(room_id, requester.user_id)
        if not access.joined:
            raise Forbidden(f"User {requester.user_id} is not in room {room_id}")
        members = await self.room_state.get_members(room_id)
        joined = [eid for m, eid in members.values() if m == Membership.JOIN]
        found = await self._accepted(joined)
        out: JsonDict = {}
        for event in sorted(found.values(), key=lambda e: e.state_key or ""):
            # Both keys always, null when unset, as Synapse answers.
            info: JsonDict = {}
            for source, target in (
                ("displayname", "display_name"),
                ("avatar_url", "avatar_url"),
            ):
                value = event.content.get(source)
                info[target] = value if isinstance(value, str) else None
            out[event.state_key or ""] = info
        return {"joined": out}

    async def timestamp_to_event(
        self, requester: Requester, room_id: str, ts: int, direction: Direction
    ) -> JsonDict:
        """GET /v1/rooms/{roomId}/timestamp_to_event: the nearest visible event."""
        await self.visibility.check_room_access(room_id, requester.user_id)
        viewer = await self.visibility.for_user(room_id, requester.user_id)
        personal = await self.personal.view(requester.user_id)
        after: EventPosition | None = None
        for _ in range(TIMESTAMP_MAX_ROUNDS):
            candidates = await self.stream.get_by_timestamp(
                room_id, ts, direction, TIMESTAMP_BATCH, after
            )
            fetched = await self.events.get_events([c.event_id for c in candidates])
            ordered = [fetched[c.event_id] for c in candidates if c.event_id in fetched]
            visible = personal.filter(await viewer.filter(ordered))
            if visible:
                return {
                    "event_id": visible[0].event_id,
                    "origin_server_ts": visible[0].origin_server_ts,
                }
            if len(candidates) < TIMESTAMP_BATCH:
                break
            after = candidates[-1]
        way = "forward" if direction is Direction.FORWARDS else "backward"
        raise NotFound(f"Unable to find event from {ts} in {way} direction")

    async def _accepted(self, event_ids: Iterable[str]) -> dict[str, Event]:
        """The events of ``event_ids`` we have, leaving out rejected ones.

        State is built only from accepted events, but a rejected event is
        never served as state whatever the state tables say (events can be
        marked rejected after they were stored, e.g. as outliers)."""
        found = await self.events.get_events(list(event_ids))
        return {k: e for k, e in found.items() if e.rejected_reason is None}

    async def _state_ids(
        self, access: RoomAccess, selection: StateSelection
    ) -> dict[StateKey, str]:
        """The current state, or for a departed user the state after their leave."""
        if access.left_event is not None:
            found = await self.event_state.get_state_ids_for_event(
                access.left_event.event_id, selection
            )
            return found or {}
        current = await self.room_state.get_current_state_ids(access.room_id)
        return selection.project(current)

    async def _state_ids_at(
        self, access: RoomAccess, at: RoomStreamToken, selection: StateSelection
    ) -> dict[StateKey, str]:
        """The state after the last event at or before ``at`` the user may see.

        Raises:
            Forbidden: if the user may not see the room at that point.
        """
        not_after = None
        if access.left_event is not None:
            left = access.left_event
            not_after = RoomStreamToken(left.depth, left.stream_ordering or 0)
        positions = await self.stream.paginate(
            access.room_id, at, Direction.BACKWARDS, 1, not_after=not_after
        )
        if not positions:
            return {}
        last: Event | None = await self.events.get_event(positions[0].event_id)
        viewer = await self.visibility.for_user(access.room_id, access.user_id)
        if last is None or not await viewer.is_visible(last):
            raise Forbidden("You may not see the room's members at that point")
        found = await self.event_state.get_state_ids_for_event(last.event_id, selection)
        return found or {}
