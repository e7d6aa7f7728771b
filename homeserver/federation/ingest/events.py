"""The remote event pipeline: from a PDU another server sent to a stored event.

Spec: server-server-api.md "Checks performed on receipt of a PDU", "Rejection",
"Soft failure", "Backfilling and retrieving missing events", "Room State
Resolution". The order, as docs/architecture.md and DESIGN.md "Remote event"
describe it:

1. format, signatures, content hash (``federation_verify``; redact on a bad
   hash);
2. unknown prev events: ask the origin with /get_missing_events (limit 10,
   from our forward extremities), and for gaps that remain take the state at
   each missing prev from /state_ids plus /event, stored as outliers;
3. auth against the event's own auth events (fetching missing ones), then
   against the state before it (resolved across its prevs): a failure
   rejects it; auth against the current state: a failure soft-fails it;
4. persist in one transaction, with the room's current state resolved across
   the new forward extremities when the event forks the DAG;
5. announce it on the same signals local events go to.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

import attrs

from homeserver.events.model import Event, StateKey
from homeserver.events.room_versions import RoomVersion
from homeserver.federation.ingest.auth_checks import RemoteEventAuth, auth_keys
from homeserver.federation.ingest.fetch import FetchFailed, RemoteEventFetcher
from homeserver.federation.ingest.prev_state import PrevStateFetcher
from homeserver.federation.ingest.verify import EventVerifier, PduDropped, parse_pdu
from homeserver.services.rooms.event_creation import NewEventSignals
from homeserver.services.rooms.state_resolver import StateResolver
from homeserver.storage.stores.event_persistence import EventContext, EventPersister
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.federation import FederationStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.state import StateStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.cooperate import Cooperator
from homeserver.util.linearizer import Linearizer

logger = logging.getLogger(__name__)

# How many missing events to ask the origin for before falling back to state.
MISSING_EVENTS_LIMIT = 10
# How many pages of missing events to walk back before falling back to state.
MISSING_EVENTS_ROUNDS = 10


OutOfRoomPdu = Callable[[str, Event], Awaitable[bool]]
"""``(origin, event)``: handle an event of a room no local user is in."""


class FederationEventService:
    """Takes remote events through every check into the room's DAG.

    Args:
        room_lock: the per-room lock local event creation holds while it
            reads the extremities and persists; held here for the same step.
        signals: where every new visible event is announced once it is
            stored (as local events are: sync, WebSocket, presence...).
        out_of_room_pdu: takes a verified event of a room no local user is
            joined to (e.g. a rescinded invite); returns whether it did.
        clock: lets the reactor run during long checks (a big room's state);
            without one they run in one go.
    """

    def __init__(
        self,
        *,
        events: EventStore,
        room_state: RoomStateStore,
        state: StateStore,
        store: FederationStore,
        resolver: StateResolver,
        persister: EventPersister,
        verifier: EventVerifier,
        fetcher: RemoteEventFetcher,
        room_lock: Linearizer,
        signals: NewEventSignals,
        out_of_room_pdu: OutOfRoomPdu,
        clock: Clock | None = None,
    ) -> None:
        self.events = events
        self.clock = clock
        self.room_state = room_state
        self.state = state
        self.store = store
        self.resolver = resolver
        self.persister = persister
        self.verifier = verifier
        self.fetcher = fetcher
        self.auth = RemoteEventAuth(events, persister, fetcher, clock)
        self.prev_state = PrevStateFetcher(events, state, fetcher, self.auth)
        self.room_lock = room_lock
        self.signals = signals
        self.out_of_room_pdu = out_of_room_pdu
        self._inbound = Linearizer()

    async def room_version(self, room_id: object) -> RoomVersion:
        """The version of a room we are in.

        Raises:
            PduDropped: we do not know the room.
        """
        if not isinstance(room_id, str):
            raise PduDropped("PDU has no room_id")
        version = await self.room_state.get_room_version(room_id)
        if version is None:
            raise PduDropped(f"Unknown room {room_id}")
        return version

    async def on_receive_pdu(self, origin: str, pdu_json: JsonDict) -> Event:
        """Handle one PDU of an inbound transaction from ``origin``.

        Returns:
            The event as stored (possibly rejected or soft-failed: those are
            not errors for the sender).

        Raises:
            PduDropped: the PDU was dropped, or what it depends on could not
                be obtained; the message is for the /send result.
        """
        version = await self.room_version(pdu_json.get("room_id"))
        event = await self.verifier.verify(pdu_json, version)
        if await self.out_of_room_pdu(origin, event):
            return event
        async with self._inbound.queue(event.room_id):
            await self.process_event(origin, event, fetch_missing=True)
        return event

    async def process_remote_join(
        self,
        origin: str,
        room_version: RoomVersion,
        join_event: Event,
        state: list[JsonDict],
        auth_chain: list[JsonDict],
    ) -> None:
        """Store a room we joined through ``origin`` (the send_join answer).

        The state and auth chain events pass checks 1-4 and are stored as
        outliers, in auth order; the join event then becomes a DAG event whose
        state before is ``state``: the room's current state follows it, it is
        the room's forward extremity and its prev events are the gaps
        backfill starts from.

        Raises:
            PduDropped: the join event does not pass the auth rules against
                its auth events or the given state.
        """
        room_id = join_event.room_id
        chain_events = await self._verify_all(origin, room_version, room_id, auth_chain)
        state_events = await self._verify_all(origin, room_version, room_id, state)
        state_ids = {e.event_id for e in state_events if e.is_state()}
        checked = [*chain_events, *state_events]
        stored = await self.auth.persist_outliers(checked, origin)
        accepted = [
            stored[eid]
            for eid in state_ids
            if eid in stored and stored[eid].rejected_reason is None
        ]
        state_before = {
            e.state_tuple: e.event_id
            for e in sorted(accepted, key=lambda e: (e.depth, e.event_id))
        }
        existing = await self.events.get_event(join_event.event_id)
        if existing is not None and not existing.outlier:
            return
        join_event.outlier = False
        reason = await self.auth.check_auth_events(origin, join_event)
        if reason is None:
            reason = await self.auth.check_against_state(join_event, state_before)
        if reason is not None:
            logger.warning(
                "join %s via %s rejected: %s", join_event.event_id, origin, reason
            )
            raise PduDropped(f"The join event is not allowed: {reason}")
        async with self.room_lock.queue(room_id):
            state_after = {**state_before, join_event.state_tuple: join_event.event_id}
            context = EventContext(
                state_before=state_before,
                new_current_state=state_after,
                sole_extremity=True,
            )
            await self.persister.persist_event(join_event, context)
        logger.info(
            "joined %s via %s: %d state events", room_id, origin, len(state_before)
        )
        self.notify(join_event)

    async def _verify_all(
        self, origin: str, room_version: RoomVersion, room_id: str, pdus: list[JsonDict]
    ) -> list[Event]:
        """Checks 1-3 on each PDU of a room; failures are logged and left out.
        Events we already store were checked when they came: only parsed
        (a rejoin's state is mostly known)."""
        parsed: list[Event] = []
        turns = Cooperator(self.clock)
        for pdu in pdus:
            await turns.step()
            try:
                event = parse_pdu(pdu, room_version)
            except PduDropped as exc:
                logger.warning("dropping an event from %s: %s", origin, exc)
                continue
            if event.room_id == room_id:
                parsed.append(event)
        known = await self.events.get_events([e.event_id for e in parsed])
        out = []
        for event in parsed:
            if event.event_id in known:
                # Our copy: in rooms v1-v2 an event ID is a claim, not a hash.
                out.append(known[event.event_id])
                continue
            await turns.step()
            try:
                out.append(await self.verifier.check(event))
            except PduDropped as exc:
                logger.warning("dropping an event from %s: %s", origin, exc)
        return out

    async def process_event(
        self,
        origin: str,
        event: Event,
        *,
        fetch_missing: bool,
        backfilled: bool = False,
    ) -> None:
        """Checks 4-6, persist and notify, for a checked (1-3) DAG event.

        Args:
            origin: who to ask for what is missing.
            fetch_missing: ask for missing prev events with
                /get_missing_events first (live events only).
            backfilled: a historic event (no soft-fail check, no effect on
                the extremities or current state, no notification).
        """
        stored = await self.events.get_event(event.event_id)
        if stored is not None and not stored.outlier:
            logger.debug("already have %s", event.event_id)
            return
        missing = await self._missing_prevs(event)
        if missing and fetch_missing:
            await self._get_missing_events(origin, event)
            missing = await self._missing_prevs(event)
        sets = await self.prev_state.state_sets_for_prevs(origin, event, missing)
        event.rejected_reason = await self.auth.check_auth_events(origin, event)
        async with self.room_lock.queue(event.room_id):
            stored = await self.events.get_event(event.event_id)
            if stored is not None and not stored.outlier:
                return  # stored meanwhile (backfill, another transaction)
            context = await self.resolver.context_for_state_sets(
                event.room_version, sets
            )
            await self._check_state(event, context.state_before, backfilled)
            if not await self.auth.redaction_applies(event, context.state_before):
                context = attrs.evolve(context, apply_redaction=False)
            if not backfilled:
                context = await self._with_new_current_state(event, context)
            await self.persister.persist_event(event, context, backfilled=backfilled)
        self._log_outcome(origin, event)
        if not backfilled:
            self.notify(event)

    async def _check_state(
        self, event: Event, state_before: Mapping[StateKey, str], backfilled: bool
    ) -> None:
        """Checks 5 (reject) and 6 (soft-fail), unless already rejected."""
        if event.rejected_reason is None:
            event.rejected_reason = await self.auth.check_against_state(
                event, state_before
            )
        if event.rejected_reason is None and not backfilled:
            current = await self._current_auth_state(event)
            reason = await self.auth.check_against_state(event, current)
            if reason is not None:
                logger.info(
                    "soft-failing %s: not allowed by the current state: %s",
                    event.event_id,
                    reason,
                )
                event.soft_failed = True

    async def _current_auth_state(self, event: Event) -> dict[StateKey, str]:
        """The part of the room's current state the auth rules read for it."""
        current: dict[StateKey, str] = {}
        for key in auth_keys(event):
            event_id = await self.room_state.get_current_state_event_id(
                event.room_id, *key
            )
            if event_id is not None:
                current[key] = event_id
        return current

    def _log_outcome(self, origin: str, event: Event) -> None:
        if event.rejected_reason is not None:
            logger.warning(
                "rejected %s from %s: %s",
                event.event_id,
                origin,
                event.rejected_reason,
            )
        else:
            logger.info(
                "accepted %s (%s) in %s from %s%s",
                event.event_id,
                event.type,
                event.room_id,
                origin,
                " (soft-failed)" if event.soft_failed else "",
            )

    def notify(self, event: Event) -> None:
        """Announce an event clients may see."""
        if event.outlier or event.rejected_reason is not None or event.soft_failed:
            return
        self.signals.announce(event, local=False)

    async def _missing_prevs(self, event: Event) -> list[str]:
        """Prev events we do not have in the DAG (outliers count as missing:
        the state after them is unknown)."""
        prevs = list(dict.fromkeys(event.prev_event_ids))
        have = await self.events.get_events(prevs)
        return [p for p in prevs if p not in have or have[p].outlier]

    async def _get_missing_events(self, origin: str, event: Event) -> None:
        """Ask ``origin`` for the events between our extremities and ``event``
        (in pages of ``MISSING_EVENTS_LIMIT``, walking back while gaps remain,
        up to ``MISSING_EVENTS_ROUNDS`` pages), then take each, oldest first,
        through the pipeline."""
        room_id = event.room_id
        earliest = await self.events.get_forward_extremities(room_id)
        min_depth = await self.store.get_min_depth(room_id) or 0
        collected: dict[str, Event] = {}
        latest = [event.event_id]
        for _ in range(MISSING_EVENTS_ROUNDS):
            try:
                found = await self.fetcher.get_missing_events(
                    origin,
                    event.room_version,
                    room_id,
                    earliest,
                    latest,
                    MISSING_EVENTS_LIMIT,
                    min_depth,
                )
            except FetchFailed:
                break
            new = [
                e
                for e in found
                if e.room_id == room_id
                and e.event_id != event.event_id
                and e.event_id not in collected
            ]
            collected.update((e.event_id, e) for e in new)
            latest = await self._still_missing_parents(new, collected)
            if not latest:
                break
        logger.info(
            "got %d missing events before %s from %s",
            len(collected),
            event.event_id,
            origin,
        )
        for missing in sorted(collected.values(), key=lambda e: (e.depth, e.event_id)):
            try:
                await self.process_event(origin, missing, fetch_missing=False)
            except PduDropped as exc:
                # The event that needed it will take the state at its gap.
                logger.warning("missing event %s dropped: %s", missing.event_id, exc)

    async def _still_missing_parents(
        self, new: list[Event], collected: Mapping[str, Event]
    ) -> list[str]:
        """Those of ``new`` with a parent neither fetched nor in our DAG."""
        parents = {p for e in new for p in e.prev_event_ids if p not in collected}
        have = await self.events.get_events(parents)
        known = {eid for eid, e in have.items() if not e.outlier}
        return sorted(
            e.event_id
            for e in new
            if any(p not in collected and p not in known for p in e.prev_event_ids)
        )

    async def _with_new_current_state(
        self, event: Event, context: EventContext
    ) -> EventContext:
        """``context`` plus the room's current state after ``event``: the state
        after it, resolved with the states at the other forward extremities
        when it does not descend from all of them."""
        if event.rejected_reason is not None or event.soft_failed:
            return context
        extremities = await self.events.get_forward_extremities(event.room_id)
        others = sorted(set(extremities) - set(event.prev_event_ids) - {event.event_id})
        if not others:
            # It descends from every tip: the state after it is the current
            # state, which the persister derives from the context as for a
            # local event.
            return context
        after = context.state_after(event)
        groups = await self.state.get_state_groups_for_events(others)
        state_sets = [
            await self.state.get_state_for_group(g)
            for g in sorted(set(groups.values()))
        ]
        logger.info(
            "%s forks %s: resolving state across %d extremities",
            event.event_id,
            event.room_id,
            len(state_sets) + 1,
        )
        new_state = await self.resolver.resolve(
            event.room_version, [*state_sets, after], pending=event
        )
        return attrs.evolve(context, new_current_state=new_state)
