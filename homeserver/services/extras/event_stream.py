"""The legacy event stream Synapse still serves: GET /events and
GET /events/{eventId}.

Spec: client-server API, deprecated "GET /events" ("Listening for events")
and "GET /events/{eventId}". The stream carries the room events of the rooms
the user is in (their invites included), and their typing, receipts and
the presence the user may see, after ``from``, waiting up to
``timeout`` for the first; its tokens are /sync tokens, so the ``end`` of
/initialSync continues here. Unlike /sync it has no side effects on other
streams (to-device messages are never consumed by it).
"""

from __future__ import annotations

from homeserver.errors import Forbidden, MatrixError, NotFound
from homeserver.events.model import Event, Membership
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.personal import PersonalFilter
from homeserver.services.reading.room_reads import RoomReadService
from homeserver.services.reading.serializer import EventSerializer
from homeserver.services.reading.visibility import VisibilityService
from homeserver.services.sync.sources import PresenceSource, ReceiptSource, TypingSource
from homeserver.storage.stores.event_stream import EventStreamStore
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.sync import SyncStore
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import EVENTS, PRESENCE, RECEIPTS, TYPING
from homeserver.streams.tokens import StreamToken
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

DEFAULT_TIMEOUT_MS = 30_000
MAX_TIMEOUT_MS = 5 * 60 * 1000
DEFAULT_LIMIT = 100


class EventStreamService:
    """Serves the legacy event stream."""

    def __init__(
        self,
        *,
        events: EventStore,
        stream: EventStreamStore,
        memberships: SyncStore,
        room_state: RoomStateStore,
        visibility: VisibilityService,
        personal: PersonalFilter,
        serializer: EventSerializer,
        room_reads: RoomReadService,
        typing: TypingSource,
        receipts: ReceiptSource,
        presence: PresenceSource,
        notifier: Notifier,
        clock: Clock,
    ) -> None:
        self.typing = typing
        self.receipts = receipts
        self.presence = presence
        self.events = events
        self.stream = stream
        self.memberships = memberships
        self.room_state = room_state
        self.visibility = visibility
        self.personal = personal
        self.serializer = serializer
        self.room_reads = room_reads
        self.notifier = notifier
        self.clock = clock

    async def get_stream(
        self,
        requester: Requester,
        from_token: StreamToken | None,
        timeout_ms: int | None,
        room_id: str | None = None,
    ) -> JsonDict:
        """GET /events: ``{"chunk", "start", "end"}``.

        Args:
            from_token: where to start; None for now (only new events).
            timeout_ms: how long to wait for an event (default 30 s, at most
                5 minutes); 0 answers at once.
            room_id: only this room (which the user must be able to read);
                guests must name one, as in Synapse.
        """
        if room_id is None and requester.is_guest:
            raise MatrixError(400, "Guest users must specify room_id param")
        if room_id is not None:
            await self.visibility.check_room_access(room_id, requester.user_id)
        now = self.notifier.current_token()
        start = now if from_token is None else from_token.clamped_to(now)
        timeout = DEFAULT_TIMEOUT_MS if timeout_ms is None else timeout_ms
        deadline = self.clock.time_msec() + max(0, min(timeout, MAX_TIMEOUT_MS))
        while True:
            upto = self.notifier.current_token()
            if room_id is not None:
                rooms = {room_id}
            else:
                rooms = set(
                    await self.room_state.get_rooms_for_user(
                        requester.user_id, Membership.JOIN
                    )
                )
            peek = room_id is not None
            chunk, end = await self._chunk(
                requester, rooms, start, upto, own_changes=not peek
            )
            chunk += await self._ephemeral(requester, rooms, start, upto, peek)
            remaining = deadline - self.clock.time_msec()
            if chunk or remaining <= 0:
                return {
                    "chunk": chunk,
                    "start": start.to_string(),
                    "end": end.to_string(),
                }
            if self.notifier.current_token().is_after(upto):
                continue
            await self.notifier.wait(requester.user_id, rooms, remaining)

    async def _chunk(
        self,
        requester: Requester,
        rooms: set[str],
        start: StreamToken,
        upto: StreamToken,
        *,
        own_changes: bool,
    ) -> tuple[list[JsonDict], StreamToken]:
        """The events of ``rooms`` after ``start`` (the user may see), and,
        with ``own_changes``, the user's own membership events in other rooms
        (an invite, a kick, a leave): everything up to the end token."""
        user_id = requester.user_id
        found = await self.stream.get_events_between(
            rooms, start.events, upto.events, DEFAULT_LIMIT
        )
        end = upto
        if len(found) >= DEFAULT_LIMIT:
            end = upto.copy_with(EVENTS.name, found[-1][1])
        own: set[str] = set()
        if own_changes:
            changes = await self.memberships.get_membership_changes(
                user_id, start.events, end.events
            )
            own = {c.event_id for c in changes if c.room_id not in rooms}
            found += [
                (c.event_id, c.stream_ordering) for c in changes if c.event_id in own
            ]
        found.sort(key=lambda item: item[1])
        by_id = await self.events.get_events([event_id for event_id, _ in found])
        ordered = [by_id[event_id] for event_id, _ in found if event_id in by_id]
        visible = set(
            e.event_id
            for e in await self.visibility.filter_events_for_user(
                user_id, [e for e in ordered if e.event_id not in own]
            )
        )
        shown = [e for e in ordered if e.event_id in own or e.event_id in visible]
        # Not the events of users they ignore, nor those they hid.
        shown = await self.personal.filter_events(user_id, shown)
        return await self.serializer.serialize(shown, requester), end

    async def _ephemeral(
        self,
        requester: Requester,
        rooms: set[str],
        start: StreamToken,
        upto: StreamToken,
        peek: bool,
    ) -> list[JsonDict]:
        """Typing and receipts of ``rooms`` and (unless peeking at one room)
        the presence the user may see, changed after ``start``: the
        ephemeral events Synapse's stream carries too."""
        out: list[JsonDict] = []
        if start.get(TYPING.name) < upto.get(TYPING.name):
            typing = self.typing.get_typing_for_rooms(rooms, start.get(TYPING.name))
            out += [
                {"type": "m.typing", "room_id": room, "content": content}
                for room, content in sorted(typing.items())
            ]
        receipts = await self.receipts.get_receipts_for_rooms(
            requester.user_id, rooms, start.get(RECEIPTS.name), upto.get(RECEIPTS.name)
        )
        out += [
            {"type": "m.receipt", "room_id": room, "content": content}
            for room, content in sorted(receipts.items())
        ]
        if not peek:
            out += await self.presence.get_presence_for_user(
                requester.user_id, start.get(PRESENCE.name), upto.get(PRESENCE.name)
            )
        return out

    async def get_event(self, requester: Requester, event_id: str) -> JsonDict:
        """GET /events/{eventId}: the event, if the user may see it (else 404)."""
        event: Event | None = await self.events.get_event(event_id)
        if event is None or event.outlier or event.rejected_reason:
            raise NotFound("Event not found")
        try:
            return await self.room_reads.get_event(requester, event.room_id, event_id)
        except Forbidden:
            raise NotFound("Event not found") from None
