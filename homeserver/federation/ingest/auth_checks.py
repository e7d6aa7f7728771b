"""Checks 4 to 6 on receipt of a PDU, and storing auth events as outliers.

Spec: server-server-api.md "Checks performed on receipt of a PDU" (auth
against the event's auth events, against the state before it, and soft
failure against the current state), "Rejection", "Soft failure". Auth events
we lack are fetched from the sending server, checked the same way against
their own auth events, and stored as outliers (events without known state
around them).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Collection, Iterable, Mapping

from homeserver.events.auth_rules import (
    AuthError,
    auth_types_for_event,
    check_auth_events_list,
    check_auth_rules,
    get_named_power_level,
    get_user_power_level,
    signature_present,
)
from homeserver.events.ids import create_event_id_of_room, try_domain_of
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.federation.ingest.fetch import FetchFailed, RemoteEventFetcher
from homeserver.storage.stores.event_persistence import EventPersister
from homeserver.storage.stores.events import EventStore
from homeserver.util.clock import Clock
from homeserver.util.cooperate import Cooperator

logger = logging.getLogger(__name__)

CREATE_KEY: StateKey = (EventTypes.CREATE, "")
# Auth chains are shallow (create, power levels, memberships): a few rounds of
# fetching reach their roots.
MAX_AUTH_FETCH_ROUNDS = 10


def sort_by_auth(events: Iterable[Event]) -> list[Event]:
    """Events ordered so each comes after those of its auth events in the batch
    (create events first; ties by depth, then ID).

    Kahn's algorithm with a heap: O(n log n), so a send_join answer with
    thousands of state events sorts in milliseconds.
    """
    by_id = {e.event_id: e for e in events}

    def rank(eid: str) -> tuple[bool, int, str]:
        event = by_id[eid]
        return (event.type != EventTypes.CREATE, event.depth, eid)

    waiting: dict[str, int] = {}
    dependents: dict[str, list[str]] = {}
    for eid, event in by_id.items():
        deps = {a for a in event.auth_event_ids if a in by_id and a != eid}
        waiting[eid] = len(deps)
        for dep in deps:
            dependents.setdefault(dep, []).append(eid)
    ready = [rank(eid) for eid, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    out: list[Event] = []
    while len(out) < len(by_id):
        if not ready:  # a cycle: cannot be valid, but order what is left anyway
            left = [eid for eid, count in waiting.items() if count > 0]
            chosen = min(left, key=rank)
            waiting[chosen] = 0
        else:
            chosen = heapq.heappop(ready)[2]
        out.append(by_id[chosen])
        waiting[chosen] = -1
        for dependent in dependents.get(chosen, ()):
            if waiting[dependent] > 0:
                waiting[dependent] -= 1
                if waiting[dependent] == 0:
                    heapq.heappush(ready, rank(dependent))
    return out


def create_event_id(event: Event) -> str | None:
    """For v12 rooms, the create event's ID (derived from the room ID)."""
    if event.room_version.room_id_is_create_hash and event.room_id.startswith("!"):
        return create_event_id_of_room(event.room_id)
    return None


class RemoteEventAuth:
    """Authorises remote events and keeps their auth chains stored."""

    def __init__(
        self,
        events: EventStore,
        persister: EventPersister,
        fetcher: RemoteEventFetcher,
        clock: Clock | None = None,
    ) -> None:
        self.events = events
        self.persister = persister
        self.fetcher = fetcher
        self.clock = clock

    async def persist_outliers(
        self, events: Iterable[Event], origin: str | None = None
    ) -> dict[str, Event]:
        """Check each event against its own auth events and store it as an
        outlier (rejected if it fails), in auth order.

        Auth events neither stored nor in the batch are fetched from
        ``origin`` (when given) first. Events already stored are left as they
        are. Returns every event of the batch as now stored.
        """
        batch = {e.event_id: e for e in events}
        if origin is not None and batch:
            await self._complete_auth_chains(origin, batch)
        stored = await self.events.get_events(batch)
        todo = sort_by_auth(e for e in batch.values() if e.event_id not in stored)
        # Every auth event the batch names, read once: the batch's own are
        # judged here in auth order, the rest come from the database.
        referenced = {
            a for e in todo for a in self._auth_ids_with_create(e) if a not in batch
        }
        known: dict[str, Event] = {**stored, **await self.events.get_events(referenced)}
        rejected = 0
        turns = Cooperator(self.clock)
        for event in todo:
            await turns.step()
            reason = self._auth_with(event, known)
            if reason is not None:
                rejected += 1
                logger.info("rejecting outlier %s: %s", event.event_id, reason)
            event.rejected_reason = reason
            event.outlier = True
            known[event.event_id] = event
            stored[event.event_id] = event
        await self.persister.persist_outliers(todo)
        if todo:
            logger.info(
                "stored %d outliers in %s (%d rejected)",
                len(todo),
                todo[0].room_id,
                rejected,
            )
        return stored

    async def _complete_auth_chains(self, origin: str, batch: dict[str, Event]) -> None:
        """Add to ``batch`` the auth events it lacks, fetched from ``origin``."""
        sample = next(iter(batch.values()))
        room_id, version = sample.room_id, sample.room_version
        for _ in range(MAX_AUTH_FETCH_ROUNDS):
            wanted = {
                a
                for e in batch.values()
                for a in self._auth_ids_with_create(e)
                if a not in batch
            }
            have = await self.events.get_events(wanted)
            missing = sorted(wanted - have.keys())
            if not missing:
                return
            logger.info("fetching %d missing auth events from %s", len(missing), origin)
            fetched = await self.fetcher.get_events(origin, version, missing)
            fetched = [e for e in fetched if e.room_id == room_id]
            if not fetched:
                return
            batch.update((e.event_id, e) for e in fetched)

    async def check_auth_events(self, origin: str, event: Event) -> str | None:
        """Check 4: the auth rules against the event's own auth events.

        Auth events we lack are fetched from ``origin`` (its auth chain through
        /event_auth, else one by one through /event) and stored as outliers.

        Returns:
            Why the event must be rejected, or None if it passes.
        """
        wanted = self._auth_ids_with_create(event)
        have = await self.events.get_events(wanted)
        missing = [eid for eid in wanted if eid not in have]
        if missing:
            logger.info(
                "fetching %d missing auth events of %s from %s",
                len(missing),
                event.event_id,
                origin,
            )
            await self._fetch_auth_events(origin, event, missing)
        return await self._auth_against_own_auth_events(event)

    async def _fetch_auth_events(
        self, origin: str, event: Event, missing: list[str]
    ) -> None:
        version = event.room_version
        try:
            chain = await self.fetcher.get_event_auth(
                origin, version, event.room_id, event.event_id
            )
        except FetchFailed:
            chain = []
        fetched = {e.event_id for e in chain}
        chain += await self.fetcher.get_events(
            origin, version, [eid for eid in missing if eid not in fetched]
        )
        await self.persist_outliers(
            (e for e in chain if e.room_id == event.room_id), origin
        )

    def _auth_ids_with_create(self, event: Event) -> list[str]:
        ids = list(event.auth_event_ids)
        create_id = create_event_id(event)
        if create_id is not None and event.type != EventTypes.CREATE:
            ids.append(create_id)
        return ids

    async def _auth_against_own_auth_events(self, event: Event) -> str | None:
        have = await self.events.get_events(self._auth_ids_with_create(event))
        return self._auth_with(event, have)

    def _auth_with(self, event: Event, have: Mapping[str, Event]) -> str | None:
        """The auth rules against the event's own auth events, found in
        ``have``; why it fails, or None."""
        if event.type == EventTypes.CREATE:
            return _reason(lambda: check_auth_rules(event, {}))
        listed = event.auth_event_ids
        missing = [eid for eid in listed if eid not in have]
        if missing:
            return f"Missing auth events: {', '.join(sorted(missing))}"
        auth_list = [have[eid] for eid in listed]
        auth_map: dict[StateKey, Event] = {e.state_tuple: e for e in auth_list}
        create_id = create_event_id(event)
        if create_id is not None:
            if create_id not in have:
                return "The room's create event is unknown"
            auth_map[CREATE_KEY] = have[create_id]

        def check() -> None:
            check_auth_events_list(event, auth_list)
            check_auth_rules(event, auth_map, verify_signature=signature_present)

        return _reason(check)

    async def redaction_applies(
        self, event: Event, state: Mapping[StateKey, str]
    ) -> bool:
        """Whether a redaction may redact its target: the sender has the
        redact power level, or redacts an event from its own server (room
        v3+ "Redactions"; v1-v2 check this in the auth rules). A target we do
        not have yet is given the benefit of the doubt, as it is stored."""
        if event.type != EventTypes.REDACTION or not event.redacts:
            return True
        keys = [(EventTypes.POWER_LEVELS, ""), (EventTypes.MEMBER, event.sender)]
        ids = {key: state[key] for key in keys if key in state}
        found = await self.events.get_events([*ids.values(), event.redacts])
        auth_map = {key: found[eid] for key, eid in ids.items() if eid in found}
        if CREATE_KEY in state:
            create = await self.events.get_event(state[CREATE_KEY])
            if create is not None:
                auth_map[CREATE_KEY] = create
        if get_user_power_level(event.sender, auth_map) >= get_named_power_level(
            "redact", auth_map
        ):
            return True
        target = found.get(event.redacts)
        if target is None or _redact_allowed_by_domain(event, target):
            return True
        logger.warning(
            "redaction %s of %s by %s is not allowed: kept but not applied",
            event.event_id,
            event.redacts,
            event.sender,
        )
        return False

    async def check_against_state(
        self, event: Event, state: Mapping[StateKey, str]
    ) -> str | None:
        """The auth rules against a full room state (checks 5 and 6).

        Returns:
            Why the event fails, or None if it passes.
        """
        if event.type == EventTypes.CREATE:
            return _reason(lambda: check_auth_rules(event, {}))
        ids = {key: state[key] for key in auth_keys(event) if key in state}
        found = await self.events.get_events(ids.values())
        auth_map = {key: found[eid] for key, eid in ids.items() if eid in found}
        return _reason(
            lambda: check_auth_rules(
                event, auth_map, verify_signature=signature_present
            )
        )


def auth_keys(event: Event) -> Collection[StateKey]:
    """The state keys the auth rules may read for ``event`` (with the create)."""
    return {
        CREATE_KEY,
        *auth_types_for_event(
            event.room_version,
            event.type,
            event.state_key,
            event.sender,
            event.content,
        ),
    }


def _redact_allowed_by_domain(redaction: Event, target: Event | None) -> bool:
    if target is None:
        return False
    domain = try_domain_of(target.sender)
    return domain is not None and domain == try_domain_of(redaction.sender)


def _reason(check: Callable[[], None]) -> str | None:
    try:
        check()
    except AuthError as exc:
        return exc.message
    return None
