"""The state after prev events we do not have, from the server that sent them.

Spec: server-server-api.md "Retrieving events" (GET /state_ids, /state,
/event). When /get_missing_events could not close a gap, the state at each
missing prev event is taken from the origin: its event IDs from /state_ids,
the events we lack from /event (or, when many are missing, all at once from
/state), checked and stored as outliers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from homeserver.events.model import Event, StateKey
from homeserver.federation.ingest.auth_checks import RemoteEventAuth
from homeserver.federation.ingest.fetch import FetchFailed, RemoteEventFetcher
from homeserver.federation.ingest.verify import PduDropped
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.state import StateStore

logger = logging.getLogger(__name__)

# Above this many unknown state events, fetch the whole state at once.
MAX_SINGLE_FETCHES = 10
StateSets = list[tuple[int | None, Mapping[StateKey, str]]]


class PrevStateFetcher:
    """The state after each prev event of a remote event."""

    def __init__(
        self,
        events: EventStore,
        state: StateStore,
        fetcher: RemoteEventFetcher,
        auth: RemoteEventAuth,
    ) -> None:
        self.events = events
        self.state = state
        self.fetcher = fetcher
        self.auth = auth

    async def state_sets_for_prevs(
        self, origin: str, event: Event, missing: Sequence[str]
    ) -> StateSets:
        """The state after each prev event: from our state groups, or from
        ``origin`` (/state_ids) for those we lack."""
        known = [p for p in dict.fromkeys(event.prev_event_ids) if p not in missing]
        groups = await self.state.get_state_groups_for_events(known)
        sets: StateSets = []
        for group in sorted(set(groups.values())):
            sets.append((group, await self.state.get_state_for_group(group)))
        for prev in missing:
            sets.append(
                (None, await self.state_after_remote_event(origin, event, prev))
            )
        return sets

    async def state_after_remote_event(
        self, origin: str, event: Event, prev_id: str
    ) -> dict[StateKey, str]:
        """The state after ``prev_id``, as ``origin`` says, with every event of
        it stored (as outliers, after auth checks).

        Raises:
            PduDropped: ``origin`` could not tell us.
        """
        room_id = event.room_id
        try:
            state_ids, chain_ids = await self.fetcher.get_state_ids(
                origin, room_id, prev_id
            )
        except FetchFailed as exc:
            raise PduDropped(
                f"Could not get the state at prev event {prev_id}: {exc}"
            ) from None
        wanted = {*state_ids, *chain_ids, prev_id}
        have = await self.events.get_events(wanted)
        unknown = sorted(wanted - have.keys())
        logger.info(
            "state at %s from %s: %d events, fetching %d",
            prev_id,
            origin,
            len(wanted),
            len(unknown),
        )
        fetched = await self._fetch_many(origin, event, prev_id, unknown)
        stored = await self.auth.persist_outliers(
            (e for e in fetched if e.room_id == room_id), origin
        )
        stored.update(have)
        state: dict[StateKey, str] = {}
        for eid in state_ids:
            state_event = stored.get(eid)
            if state_event is None:
                raise PduDropped(f"Could not fetch state event {eid} from {origin}")
            if state_event.is_state() and state_event.rejected_reason is None:
                state[state_event.state_tuple] = eid
        prev = stored.get(prev_id)
        if prev is not None and prev.is_state() and prev.rejected_reason is None:
            state[prev.state_tuple] = prev_id
        return state

    async def _fetch_many(
        self, origin: str, event: Event, at: str, event_ids: list[str]
    ) -> list[Event]:
        """Events of the state at ``at``: one by one (/event) when few are
        missing, else the whole state in one /state request, then one by one
        for anything it lacked."""
        version = event.room_version
        fetched: list[Event] = []
        if len(event_ids) > MAX_SINGLE_FETCHES:
            try:
                state = await self.fetcher.get_state(origin, version, event.room_id, at)
            except FetchFailed:
                state = []
            wanted = set(event_ids)
            fetched = [e for e in state if e.event_id in wanted]
        got = {e.event_id for e in fetched}
        rest = [eid for eid in event_ids if eid not in got]
        return fetched + await self.fetcher.get_events(origin, version, rest)
