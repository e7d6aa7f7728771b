"""Building, authorising and persisting local events.

New local event: pick prev events from the forward extremities, compute the
state before, select auth events, build + hash + sign, check the auth rules,
persist everything in one transaction, then announce it (``new_event``, and
``membership_changed`` for member events).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
from twisted.internet import defer

from homeserver.errors import Codes, Forbidden, MatrixError
from homeserver.events.auth_rules import (
    AuthError,
    auth_types_for_event,
    check_auth_rules,
)
from homeserver.events.builder import build_event
from homeserver.events.canonical_json import encode_canonical_json
from homeserver.events.content_validation import InvalidContent, validate_content
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.events.room_versions import RoomVersion
from homeserver.events.validation import EventFormatError, EventTooLarge
from homeserver.services.rooms.send_batches import ChainBroken, SendBatches, Tail
from homeserver.services.rooms.sent_txns import SentTransactions, TxnKey
from homeserver.services.rooms.state_resolver import StateResolver
from homeserver.signals import MembershipChanged, NewEvent, Signal
from homeserver.storage.stores.event_persistence import (
    EventContext,
    EventPersister,
    FreshWrite,
)
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.linearizer import Linearizer

logger = logging.getLogger(__name__)

MAX_PREV_EVENTS = 10
# Builds of one send at most, when what it was built on fails to commit.
CHAIN_ATTEMPTS = 3
MAX_DEPTH = 2**63 - 1


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


@attrs.frozen(kw_only=True)
class NewEventSignals:
    """Where a newly visible event is announced (local and remote alike)."""

    new_event: Signal[NewEvent]
    membership_changed: Signal[MembershipChanged]

    def announce(self, event: Event, *, local: bool) -> None:
        """Emit ``new_event``, then ``membership_changed`` for a member event."""
        self.new_event.emit(NewEvent(event=event, local=local))
        membership = event.membership
        if event.type == EventTypes.MEMBER and event.state_key and membership:
            self.membership_changed.emit(
                MembershipChanged(
                    room_id=event.room_id,
                    user_id=event.state_key,
                    membership=membership,
                    event=event,
                )
            )


@attrs.frozen
class _SendRequest:
    """What ``EventCreationService.send`` was asked to send."""

    room_id: str
    sender: str
    event_type: str
    content: JsonDict
    state_key: str | None
    device_id: str | None
    txn_id: str | None
    redacts: str | None
    origin_server_ts: int | None


def _chainable(context: EventContext) -> bool:
    """Whether an event built in ``context`` can be queued (and built on):
    its state group is known, so the state after it (a message's: the same)
    needs no write to be known."""
    return context.state_group_before is not None and not context.resolved


@attrs.frozen
class PreparedEvent:
    """A local event built and checked against the room's state, not yet
    stored (``EventCreationService.prepare``)."""

    event: Event
    context: EventContext


class EventCreationService:
    """The one place local events are made."""

    def __init__(
        self,
        *,
        server_name: str,
        signing_key: Any,
        events: EventStore,
        room_state: RoomStateStore,
        resolver: StateResolver,
        persister: EventPersister,
        signals: NewEventSignals,
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.signing_key = signing_key
        self.events = events
        self.room_state = room_state
        self.resolver = resolver
        self.persister = persister
        self.clock = clock
        self.signals = signals
        self.linearizer = Linearizer()
        self.sent = SentTransactions(events)
        # Group commit of messages (send_batches.py).
        self.batches = SendBatches(persister)
        # Transaction IDs whose event is queued, not yet committed.
        self._sending: dict[TxnKey, Event] = {}

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
        limit: Callable[[], Awaitable[None]] | None = None,
        deduplicate: bool = False,
        origin_server_ts: int | None = None,
    ) -> Event:
        """Create, authorise and persist an event in an existing room.

        Args:
            check: an extra check run with the built event and the auth
                events it was checked against, before persisting.
            limit: the rate limit, checked only once the transaction ID is
                known to be new: a client retrying a request that succeeded
                gets its event ID back, not 429.
            deduplicate: for a state event: if the current state at this
                (type, state_key) is the same sender's with the same content,
                return that event and send nothing (as Synapse does).
            origin_server_ts: the event's timestamp instead of now (an
                application service's ``ts``, AS API "Timestamp massaging").

        Raises:
            MatrixError: 403 M_FORBIDDEN if the auth rules refuse it; 400 for a
                malformed event; 413 M_TOO_LARGE when it is too big.
        """
        key: TxnKey | None = None
        if txn_id is not None and device_id is not None:
            key = (sender, device_id, txn_id, room_id, event_type)
            found = await self.sent.earlier(key, redacts)
            if found is not None:
                return found
        request = _SendRequest(
            room_id,
            sender,
            event_type,
            content,
            state_key,
            device_id,
            txn_id,
            redacts,
            origin_server_ts,
        )
        for _ in range(CHAIN_ATTEMPTS):
            try:
                event, new = await self._send_once(
                    request, key, check, limit, deduplicate
                )
            except ChainBroken:
                limit = None  # counted once
                continue
            if new:
                self.signals.announce(event, local=True)
            return event
        raise MatrixError(503, "Could not persist the event", Codes.UNKNOWN)

    async def _send_once(
        self,
        request: _SendRequest,
        key: TxnKey | None,
        check: Callable[[Event, Mapping[StateKey, Event]], Awaitable[None]] | None,
        limit: Callable[[], Awaitable[None]] | None,
        deduplicate: bool,
    ) -> tuple[Event, bool]:
        """``send`` once: the event, once committed (not announced yet), and
        whether it is new (not an earlier send's, nor the same state).

        Raises:
            ChainBroken: the uncommitted event it was built on failed.
        """
        r = request
        room_id = r.room_id
        chained = (
            r.state_key is None
            and not deduplicate
            and self.persister.route.get().is_local(room_id)
        )
        committed: defer.Deferred[None] | None = None
        async with self.linearizer.queue(room_id):
            room_version = await self.room_version(room_id)
            if key is not None:
                found = await self._sent_or_sending(key, r.redacts)
                if found is not None:
                    return found, False
            if limit is not None:
                await limit()
            tail = self.batches.tail(room_id) if chained else None
            if not chained:
                await self.batches.idle(room_id)
            epoch = self.batches.epoch(room_id)
            event, auth_events, context = await self._draft(
                room_version,
                room_id,
                r.sender,
                r.event_type,
                r.content,
                r.state_key,
                r.redacts,
                r.origin_server_ts,
                tail,
            )
            if check is not None:
                await check(event, auth_events)
            if deduplicate:
                same = await self._same_state(event, context.state_before)
                if same is not None:
                    return same, False
            # Built just now on the room's tips: nothing can name it yet.
            fresh = attrs.evolve(context, fresh=True)
            if chained and _chainable(fresh):
                actions = await self.persister.push.get().evaluate(event, fresh)
                write = FreshWrite(event, fresh, r.device_id, r.txn_id, actions)
                committed = self.batches.enqueue(write, epoch)
                if key is not None:
                    self._sending[key] = event
            else:
                await self.persister.persist_event(event, fresh, r.device_id, r.txn_id)
        if committed is not None:
            try:
                await committed
            finally:
                if key is not None:
                    self._sending.pop(key, None)
        if key is not None:
            self.sent.note(key, event)
        return event, True

    async def _sent_or_sending(self, key: TxnKey, redacts: str | None) -> Event | None:
        """The event this process made, or is committing, for the
        transaction ID (a concurrent identical request's)."""
        sending = self._sending.get(key)
        if sending is not None and sending.redacts == redacts:
            await self.batches.idle(sending.room_id)
            if sending.stream_ordering is not None:  # it committed
                return sending
        return await self.sent.sent_here(key, redacts)

    async def _draft(
        self,
        room_version: RoomVersion,
        room_id: str,
        sender: str,
        event_type: str,
        content: JsonDict,
        state_key: str | None,
        redacts: str | None,
        origin_server_ts: int | None = None,
        tail: Tail | None = None,
    ) -> tuple[Event, dict[StateKey, Event], EventContext]:
        """Build and check an event on the room's current tips, or on its
        newest uncommitted event ``tail`` (the caller holds the room's
        linearizer); returns it, the auth events it was checked against and
        the context it would be persisted with."""
        if tail is not None:
            prevs, context = [tail.event.event_id], tail.next_context
        else:
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
            origin_server_ts,
            pending=[tail.event] if tail is not None else [],
        )
        return event, auth_events, context

    async def _same_state(
        self, event: Event, state_before: Mapping[StateKey, str]
    ) -> Event | None:
        """The current state event ``event`` would replace, if it is the same
        sender's with the same content."""
        if not event.is_state():
            return None
        previous_id = state_before.get(event.state_tuple)
        previous = await self.events.get_event(previous_id) if previous_id else None
        if (
            previous is None
            or previous.sender != event.sender
            or previous.redacted_by is not None
            or encode_canonical_json(previous.content)
            != encode_canonical_json(event.content)
        ):
            return None
        return previous

    async def prepare(
        self,
        room_id: str,
        sender: str,
        event_type: str,
        content: JsonDict,
        state_key: str | None = None,
    ) -> PreparedEvent:
        """Build and check an event on the room's current tips, storing
        nothing yet, so its ID is known before it is sent (a room upgrade's
        tombstone, which the new room's ``predecessor`` names).

        Raises:
            MatrixError: as ``send`` would for the same event.
        """
        async with self.linearizer.queue(room_id):
            await self.batches.idle(room_id)
            room_version = await self.room_version(room_id)
            event, _, context = await self._draft(
                room_version, room_id, sender, event_type, content, state_key, None
            )
        return PreparedEvent(event, context)

    async def send_prepared(self, prepared: PreparedEvent) -> Event:
        """Store and announce an event ``prepare`` built. Events sent in the
        meantime make it a fork of the room's DAG, which the room's state
        resolution handles like any other."""
        event, context = prepared.event, prepared.context
        async with self.linearizer.queue(event.room_id):
            await self.batches.idle(event.room_id)
            await self.persister.persist_event(event, context)
            _note_replaced_state(event, context)
        self.signals.announce(event, local=True)
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
        await self.persister.persist_event(
            event, EventContext(state_before={}, fresh=True)
        )
        self.room_state.remember_room_version(event.room_id, event.room_version)
        self.signals.announce(event, local=True)

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
        origin_server_ts: int | None = None,
        pending: Sequence[Event] = (),
    ) -> tuple[Event, dict[StateKey, Event]]:
        """Build, hash and sign the event, then check the auth rules against the
        state before it. Returns the event and the auth events it was checked
        against (the create event included); ``pending``: uncommitted events
        among its prevs."""
        auth_ids, checked_ids = self._auth_ids(
            room_version, event_type, state_key, sender, content, state_before
        )
        held = {e.event_id: e for e in pending}
        known = await self.events.get_events(
            [*(p for p in prevs if p not in held), *checked_ids.values()]
        )
        known.update(held)
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
            origin_server_ts,
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
        origin_server_ts: int | None = None,
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
                origin_server_ts=(
                    self.clock.time_msec()
                    if origin_server_ts is None
                    else origin_server_ts
                ),
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

    def announce_remote_event(self, event: Event) -> None:
        """Announce an event of another server's user persisted elsewhere
        (e.g. a remote user's join accepted through send_join)."""
        self.signals.announce(event, local=False)


def _note_replaced_state(event: Event, context: EventContext) -> None:
    """Record on a just-persisted event the state event it replaces (None
    for a message or state new to the room)."""
    event.replaces_state = (
        context.state_before.get(event.state_tuple) if event.is_state() else None
    )
