"""Building, authorising and persisting local events.

New local event: pick prev events from the forward extremities, compute the
state before, select auth events, build + hash + sign, check the auth rules,
persist everything in one transaction, then tell listeners.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from homeserver.errors import Codes, Forbidden, MatrixError
from homeserver.events.auth_rules import (
    AuthError,
    auth_types_for_event,
    check_auth_rules,
)
from homeserver.events.builder import build_event
from homeserver.events.content_validation import InvalidContent, validate_content
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.events.room_versions import RoomVersion
from homeserver.events.validation import EventFormatError, EventTooLarge
from homeserver.services.rooms.state_resolver import StateResolver
from homeserver.storage.stores.event_persistence import EventContext, EventPersister
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.linearizer import Linearizer

logger = logging.getLogger(__name__)

MAX_PREV_EVENTS = 10
MAX_DEPTH = 2**63 - 1
NewEventListener = Callable[[Event], Awaitable[None] | None]


def auth_state(
    room_version: RoomVersion,
    event_type: str,
    state_key: str | None,
    sender: str,
    content: JsonDict,
    state: Mapping[StateKey, str],
) -> dict[StateKey, str]:
    """The auth events (as IDs) for a new event, drawn from ``state``."""
    wanted = auth_types_for_event(room_version, event_type, state_key, sender, content)
    return {key: state[key] for key in wanted if key in state}


async def notify_listeners(listeners: list[NewEventListener], event: Event) -> None:
    """Call every new-event listener with ``event``; one failing listener is
    logged and does not stop the others."""
    for listener in listeners:
        try:
            result = listener(event)
            if result is not None:
                await result
        except Exception:
            logger.exception("new-event listener failed for %s", event.event_id)


class EventCreationService:
    """The one place local events are made."""

    def __init__(
        self,
        server_name: str,
        signing_key: Any,
        events: EventStore,
        room_state: RoomStateStore,
        resolver: StateResolver,
        persister: EventPersister,
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.signing_key = signing_key
        self.events = events
        self.room_state = room_state
        self.resolver = resolver
        self.persister = persister
        self.clock = clock
        self.linearizer = Linearizer()
        self.listeners: list[NewEventListener] = []

    async def room_version(self, room_id: str) -> RoomVersion:
        """The version of a room we know, else 404."""
        version = await self.room_state.get_room_version(room_id)
        if version is None:
            raise MatrixError(404, "Unknown room", Codes.NOT_FOUND)
        return version

    async def send(
        self,
        room_id: str,
        sender: str,
        event_type: str,
        content: JsonDict,
        state_key: str | None = None,
        *,
        device_id: str | None = None,
        txn_id: str | None = None,
        redacts: str | None = None,
        check: Callable[[Event, Mapping[StateKey, Event]], Awaitable[None]]
        | None = None,
        limit: Callable[[], None] | None = None,
    ) -> Event:
        """Create, authorise and persist an event in an existing room.

        Args:
            check: an extra check run with the built event and the auth
                events it was checked against, before persisting.
            limit: the rate limit, checked only once the transaction ID is
                known to be new: a client retrying a request that succeeded
                gets its event ID back, not 429.

        Raises:
            MatrixError: 403 M_FORBIDDEN if the auth rules refuse it; 400 for a
                malformed event; 413 M_TOO_LARGE when it is too big.
        """
        async with self.linearizer.queue(room_id):
            room_version = await self.room_version(room_id)
            if txn_id is not None and device_id is not None:
                earlier = await self.events.get_event_id_for_txn(
                    sender, device_id, txn_id, room_id
                )
                found = await self.events.get_event(earlier) if earlier else None
                if found is not None:
                    return found
            if limit is not None:
                limit()
            prevs = await self.prev_events(room_id)
            context = await self.resolver.context_for_prev_events(room_version, prevs)
            event, auth_events = await self._build_and_check(
                room_version,
                room_id,
                sender,
                event_type,
                content,
                state_key,
                prevs,
                context.state_before,
                redacts,
            )
            if check is not None:
                await check(event, auth_events)
            await self.persister.persist_event(event, context, device_id, txn_id)
            event.sender_device_id, event.txn_id = device_id, txn_id
            event.replaces_state = (
                context.state_before.get(event.state_tuple)
                if event.is_state()
                else None
            )
        await self._notify(event)
        return event

    async def create_room_event(
        self,
        room_version: RoomVersion,
        room_id: str | None,
        sender: str,
        content: JsonDict,
    ) -> Event:
        """Create and persist a room's m.room.create event."""
        event, _ = await self._build_and_check(
            room_version, room_id, sender, EventTypes.CREATE, content, "", [], {}, None
        )
        await self.persist_create_event(event)
        return event

    async def persist_create_event(self, event: Event) -> None:
        """Persist a create event built (and checked) by ``rehearse``, so the
        room ID it names (v12: its hash) is known before anything is written."""
        await self.persister.persist_event(event, EventContext(state_before={}))
        await self._notify(event)

    async def prev_events(self, room_id: str) -> list[str]:
        """The prev_events of a new event in the room: its forward
        extremities, the newest ``MAX_PREV_EVENTS`` of them if there are more."""
        extremities = await self.events.get_forward_extremities(room_id)
        if len(extremities) <= MAX_PREV_EVENTS:
            return sorted(extremities)
        found = await self.events.get_events(extremities)
        newest = sorted(found.values(), key=lambda e: (e.depth, e.stream_ordering or 0))
        return sorted(e.event_id for e in newest[-MAX_PREV_EVENTS:])

    async def _build_and_check(
        self,
        room_version: RoomVersion,
        room_id: str | None,
        sender: str,
        event_type: str,
        content: JsonDict,
        state_key: str | None,
        prevs: list[str],
        state_before: Mapping[StateKey, str],
        redacts: str | None,
    ) -> tuple[Event, dict[StateKey, Event]]:
        """Build, hash and sign the event, then check the auth rules against the
        state before it. Returns the event and the auth events it was checked
        against (the create event included)."""
        auth_ids, checked_ids = self._auth_ids(
            room_version, event_type, state_key, sender, content, state_before
        )
        known = await self.events.get_events([*prevs, *checked_ids.values()])
        return self._build_checked(
            room_version,
            room_id,
            sender,
            event_type,
            content,
            state_key,
            prevs,
            (auth_ids, checked_ids),
            known,
            redacts,
        )

    def rehearse(
        self,
        room_version: RoomVersion,
        room_id: str | None,
        sender: str,
        event_type: str,
        content: JsonDict,
        state_key: str | None,
        prev: Event | None,
        state: Mapping[StateKey, Event],
    ) -> Event:
        """Build and check an event against state held in memory, storing
        nothing: room creation builds every event this way before its first
        write, so a request that would fail half-way fails before it starts.

        Args:
            prev: the event before it (None for a create event).
            state: the state before it, as events.

        Raises:
            MatrixError: as ``send`` would for the same event.
        """
        state_ids = {key: event.event_id for key, event in state.items()}
        known = {event.event_id: event for event in state.values()}
        if prev is not None:
            known[prev.event_id] = prev
        event, _ = self._build_checked(
            room_version,
            room_id,
            sender,
            event_type,
            content,
            state_key,
            [prev.event_id] if prev is not None else [],
            self._auth_ids(
                room_version, event_type, state_key, sender, content, state_ids
            ),
            known,
            None,
        )
        return event

    @staticmethod
    def _auth_ids(
        room_version: RoomVersion,
        event_type: str,
        state_key: str | None,
        sender: str,
        content: JsonDict,
        state_before: Mapping[StateKey, str],
    ) -> tuple[dict[StateKey, str], dict[StateKey, str]]:
        """The content checked; then the auth events the rules select, and
        those plus the create event (what the auth rules are checked against).

        Raises:
            MatrixError: 400 M_BAD_JSON for content of the wrong shape.
        """
        try:
            validate_content(room_version, event_type, state_key, content)
        except InvalidContent as exc:
            raise MatrixError(400, f"{event_type}: {exc}", Codes.BAD_JSON) from None
        auth_ids = auth_state(
            room_version, event_type, state_key, sender, content, state_before
        )
        checked_ids = dict(auth_ids)
        create_id = state_before.get((EventTypes.CREATE, ""))
        if create_id:
            checked_ids[(EventTypes.CREATE, "")] = create_id
        return auth_ids, checked_ids

    def _build_checked(
        self,
        room_version: RoomVersion,
        room_id: str | None,
        sender: str,
        event_type: str,
        content: JsonDict,
        state_key: str | None,
        prevs: list[str],
        auth: tuple[dict[StateKey, str], dict[StateKey, str]],
        known: Mapping[str, Event],
        redacts: str | None,
    ) -> tuple[Event, dict[StateKey, Event]]:
        """``_build_and_check`` once the prev and auth events are at hand
        (``auth`` is what ``_auth_ids`` gave)."""
        auth_ids, checked_ids = auth
        depth = max((known[p].depth for p in prevs if p in known), default=0) + 1
        try:
            event = build_event(
                room_version,
                room_id=room_id,
                type=event_type,
                sender=sender,
                content=content,
                prev_event_ids=prevs,
                auth_event_ids=sorted(auth_ids.values()),
                depth=min(MAX_DEPTH, depth),
                origin_server_ts=self.clock.time_msec(),
                server_name=self.server_name,
                signing_key=self.signing_key,
                state_key=state_key,
                redacts=redacts,
                prev_event_hashes=lambda eid: (
                    dict(known[eid].pdu.get("hashes", {})) if eid in known else {}
                ),
            )
        except EventTooLarge as exc:
            raise MatrixError(413, str(exc), Codes.TOO_LARGE) from None
        except EventFormatError as exc:
            raise MatrixError(400, str(exc), Codes.BAD_JSON) from None
        auth_events = {k: known[e] for k, e in checked_ids.items() if e in known}
        if event.type == EventTypes.CREATE:
            auth_events[(EventTypes.CREATE, "")] = event
        try:
            check_auth_rules(event, auth_events, verify_signature=lambda e, s: True)
        except AuthError as exc:
            raise Forbidden(str(exc)) from None
        return event, auth_events

    async def notify_new_event(self, event: Event) -> None:
        """Tell every new-event listener about an event persisted elsewhere
        (e.g. a remote user's join accepted through send_join)."""
        await self._notify(event)

    async def _notify(self, event: Event) -> None:
        await notify_listeners(self.listeners, event)
