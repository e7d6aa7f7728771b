"""History visibility: which events a user may see, and who may read a room.

Spec: client-server API, "Room History Visibility" (server behaviour). An
event is judged by the state *after* it (its state group): the room's
``history_visibility`` and the user's membership there.

1. ``world_readable``: anyone may see it.
2. The user's membership was ``join``: allowed.
3. ``shared``, and the user joined at any point after the event: allowed.
   So a joined member sees all earlier shared history, and a user who has
   left keeps what they could see up to their leave, but nothing sent after.
4. ``invited``, and the user's membership was ``invite``: allowed.
5. Otherwise denied.

``m.room.history_visibility`` events are visible if the setting before *or*
after them allows it; the user's own membership events if their membership
before or after does (and a leave straight after an invite or join is always
visible, as in Synapse, so a rejected invite can be seen). Soft-failed and
rejected events are never shown; outliers only when they are the user's own
membership (out-of-band invites).

An event whose sender was erased (deactivated with ``erase``) is served
redacted to a user who was not joined when it was sent, as in Synapse
(``visibility.py``: "sender_erased and the user was not joined at the time").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence

import attrs

from homeserver.errors import Forbidden, NotFound
from homeserver.events.model import Event, EventTypes, Membership, StateKey
from homeserver.events.redaction import redact_event
from homeserver.storage.stores.event_state import EventStateStore, StateSelection
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict


class HistoryVisibility:
    """m.room.history_visibility values."""

    WORLD_READABLE = "world_readable"
    SHARED = "shared"
    INVITED = "invited"
    JOINED = "joined"
    ALL = (WORLD_READABLE, SHARED, INVITED, JOINED)


HISTORY_VISIBILITY_KEY: StateKey = (EventTypes.HISTORY_VISIBILITY, "")

# Those of some users who were erased (``UserStore.get_erased``).
ErasedUsers = Callable[[Collection[str]], Awaitable[set[str]]]


async def nobody_erased(_user_ids: Collection[str]) -> set[str]:
    """The ErasedUsers of a server that erases nobody (tests, tools)."""
    return set()


def effective_visibility(content: JsonDict | None) -> str:
    """The visibility a history_visibility content means (missing/unknown: shared)."""
    value = (content or {}).get("history_visibility")
    return value if value in HistoryVisibility.ALL else HistoryVisibility.SHARED


def membership_allows(
    visibility: str, membership: str | None, joined_after: bool
) -> bool:
    """The spec's rules 1-5 for one (visibility, membership) pair."""
    if visibility == HistoryVisibility.WORLD_READABLE:
        return True
    if membership == Membership.JOIN:
        return True
    if visibility == HistoryVisibility.SHARED:
        return joined_after
    return visibility == HistoryVisibility.INVITED and membership == Membership.INVITE


@attrs.frozen
class RoomAccess:
    """Whether and how a user may read a room right now.

    Args:
        membership: the user's current membership, if any.
        world_readable: the room's current history visibility is world_readable.
        left_event: for a user who joined and has since left or been banned
            (in a room that is not world_readable), their leave/ban event:
            their reads see the room as it was then.
    """

    room_id: str
    user_id: str
    membership: str | None
    world_readable: bool
    left_event: Event | None = None

    @property
    def joined(self) -> bool:
        return self.membership == Membership.JOIN


class UserVisibility:
    """Visibility checks for one user in one room, with their joins loaded once.

    Args:
        last_join: the (depth, stream) of the user's latest join in the room.
        erased: which senders were erased.
    """

    def __init__(
        self,
        user_id: str,
        last_join: tuple[int, int] | None,
        events: EventStore,
        event_state: EventStateStore,
        erased: ErasedUsers = nobody_erased,
    ) -> None:
        self.user_id = user_id
        self.last_join = last_join
        self.events = events
        self.event_state = event_state
        self.erased = erased
        self._member_key: StateKey = (EventTypes.MEMBER, user_id)
        self._selection = StateSelection(
            keys=frozenset({HISTORY_VISIBILITY_KEY, self._member_key})
        )

    async def filter(self, events: Sequence[Event]) -> list[Event]:
        """The events the user may see, in their original order; those of
        erased senders that the user was not joined for are redacted copies."""
        candidates = [
            e for e in events if not e.soft_failed and e.rejected_reason is None
        ]
        in_dag = [e for e in candidates if not e.outlier]
        states = await self.event_state.get_state_ids_for_events(
            [e.event_id for e in in_dag], self._selection
        )
        wanted = {eid for state in states.values() for eid in state.values()}
        wanted |= {
            e.replaces_state
            for e in in_dag
            if e.replaces_state and self._is_boundary(e)
        }
        known = {e.event_id: e for e in candidates}
        fetched = await self.events.get_events(wanted - known.keys())
        fetched.update(known)
        out = []
        not_joined: list[Event] = []
        for event in candidates:
            if event.outlier:
                if self._is_own_membership(event):
                    out.append(event)
                continue
            state = states.get(event.event_id)
            if state is not None and self._allowed(event, state, fetched):
                out.append(event)
                if not self._joined_at(state, fetched):
                    not_joined.append(event)
        return await self._erase(out, not_joined)

    def _joined_at(
        self, state: Mapping[StateKey, str], fetched: Mapping[str, Event]
    ) -> bool:
        member_event = fetched.get(state.get(self._member_key, ""))
        return member_event is not None and member_event.membership == Membership.JOIN

    async def _erase(self, out: list[Event], not_joined: list[Event]) -> list[Event]:
        """``out`` with the events of erased senders among ``not_joined``
        redacted (one query, and only for history seen from outside)."""
        senders = {e.sender for e in not_joined if e.sender != self.user_id}
        erased = await self.erased(senders) if senders else set()
        if not erased:
            return out
        prune = {e.event_id for e in not_joined if e.sender in erased}
        return [redact_event(e) if e.event_id in prune else e for e in out]

    async def is_visible(self, event: Event) -> bool:
        """Whether the user may see one event."""
        return bool(await self.filter([event]))

    async def seen(self, event: Event | None) -> Event | None:
        """One event as the user sees it (maybe redacted), None if they may
        not see it (or it is None)."""
        visible = await self.filter([event]) if event is not None else []
        return visible[0] if visible else None

    def _is_own_membership(self, event: Event) -> bool:
        return event.type == EventTypes.MEMBER and event.state_key == self.user_id

    def _is_boundary(self, event: Event) -> bool:
        return self._is_own_membership(event) or (
            event.type == EventTypes.HISTORY_VISIBILITY and event.state_key == ""
        )

    def _allowed(
        self, event: Event, state: Mapping[StateKey, str], fetched: Mapping[str, Event]
    ) -> bool:
        vis_event = fetched.get(state.get(HISTORY_VISIBILITY_KEY, ""))
        visibilities = [effective_visibility(vis_event.content if vis_event else None)]
        member_event = fetched.get(state.get(self._member_key, ""))
        memberships = [member_event.membership if member_event else None]
        prev = fetched.get(event.replaces_state or "")
        if event.type == EventTypes.HISTORY_VISIBILITY and event.state_key == "":
            visibilities.append(effective_visibility(prev.content if prev else None))
        elif self._is_own_membership(event):
            before = prev.membership if prev else None
            if event.membership == Membership.LEAVE and before in (
                Membership.JOIN,
                Membership.INVITE,
            ):
                return True
            memberships = [event.membership, before]
        joined_after = (
            self.last_join is not None
            and (
                event.depth,
                event.stream_ordering or 0,
            )
            < self.last_join
        )
        return any(
            membership_allows(v, m, joined_after)
            for v in visibilities
            for m in memberships
        )


class VisibilityService:
    """Decides who may read a room and which of its events they may see."""

    def __init__(
        self,
        events: EventStore,
        event_state: EventStateStore,
        room_state: RoomStateStore,
        erased: ErasedUsers = nobody_erased,
    ) -> None:
        self.events = events
        self.event_state = event_state
        self.room_state = room_state
        self.erased = erased

    async def for_user(self, room_id: str, user_id: str) -> UserVisibility:
        """A visibility checker for ``user_id`` in ``room_id``."""
        history = await self.room_state.get_membership_history(room_id, user_id)
        joins = [
            (depth, stream) for depth, stream, m in history if m == Membership.JOIN
        ]
        return UserVisibility(
            user_id,
            max(joins, default=None),
            self.events,
            self.event_state,
            self.erased,
        )

    async def filter_events_for_user(
        self, user_id: str, events: Iterable[Event]
    ) -> list[Event]:
        """The events ``user_id`` may see (any rooms), in their original order."""
        ordered = list(events)
        by_room: dict[str, list[Event]] = defaultdict(list)
        for event in ordered:
            by_room[event.room_id].append(event)
        allowed: dict[str, Event] = {}
        for room_id, room_events in by_room.items():
            viewer = await self.for_user(room_id, user_id)
            allowed.update((e.event_id, e) for e in await viewer.filter(room_events))
        return [allowed[e.event_id] for e in ordered if e.event_id in allowed]

    async def check_room_access(self, room_id: str, user_id: str) -> RoomAccess:
        """Whether ``user_id`` may read ``room_id`` at all.

        Joined users may; so may users who joined and have since left or been
        banned (they see the room as it was when they left), unless they
        forgot it; anyone may read a world_readable room.

        Raises:
            NotFound: 404 M_NOT_FOUND if the room is unknown.
            Forbidden: 403 M_FORBIDDEN otherwise.
        """
        if await self.room_state.get_room_version(room_id) is None:
            raise NotFound("Unknown room")
        current = await self.room_state.get_membership(room_id, user_id)
        membership = current[0] if current else None
        vis_id = await self.room_state.get_current_state_event_id(
            room_id, EventTypes.HISTORY_VISIBILITY, ""
        )
        vis_event = await self.events.get_event(vis_id) if vis_id else None
        world_readable = (
            effective_visibility(vis_event.content if vis_event else None)
            == HistoryVisibility.WORLD_READABLE
        )
        access = RoomAccess(room_id, user_id, membership, world_readable)
        if access.joined or world_readable:
            return access
        if (
            current is not None
            and membership in (Membership.LEAVE, Membership.BAN)
            and await self._was_joined(room_id, user_id)
            and not await self.room_state.is_forgotten(room_id, user_id)
        ):
            left_event = await self.events.get_event(current[1])
            if left_event is not None:
                return attrs.evolve(access, left_event=left_event)
        raise Forbidden(f"User {user_id} is not in room {room_id}")

    async def _was_joined(self, room_id: str, user_id: str) -> bool:
        history = await self.room_state.get_membership_history(room_id, user_id)
        return any(m == Membership.JOIN for _, _, m in history)
