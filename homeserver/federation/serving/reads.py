"""Serving a room's events and state to other servers.

Spec: server-server-api.md "Retrieving events" (GET /event, /state,
/state_ids), "Retrieving event authorisation information" (GET /event_auth),
"Backfilling and retrieving missing events" (GET /backfill, POST
/get_missing_events), "Server Access Control Lists (ACLs)".

Who may read: a server denied by the room's ACL gets 403; /state,
/state_ids, /event_auth, /backfill and /get_missing_events need the origin to
be in the room now (a joined user, as Synapse: a server whose users were
banned reads nothing more), /event of an outlier the origin in the room or
the room world-readable. A rejected event is unknown (404). Each event is then judged by the history visibility at it:
``world_readable`` and ``shared`` history is visible to servers in the room,
``invited`` to a server with an invited or joined user at that point,
``joined`` to a server with a joined user at that point. Events the origin may
not see are served redacted (so the DAG stays walkable), except that GET
/event refuses them. Events of our users who were erased are served
redacted to every server, as Synapse's filter_events_for_server.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from homeserver.errors import Forbidden, NotFound
from homeserver.events.ids import has_domain
from homeserver.events.model import Event, EventTypes, Membership, StateKey
from homeserver.events.redaction import redact_pdu
from homeserver.federation.acl import ServerAclChecker
from homeserver.federation.ingest.auth_checks import create_event_id
from homeserver.services.reading.visibility import (
    HISTORY_VISIBILITY_KEY,
    ErasedUsers,
    HistoryVisibility,
    nobody_erased,
)
from homeserver.storage.stores.event_state import EventStateStore, StateSelection
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.federation import FederationStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

MAX_BACKFILL = 100
MAX_MISSING_EVENTS = 20


def pdu_for_federation(event: Event) -> JsonDict:
    """The event as we send it: pruned if it was redacted."""
    if event.redacted_by is not None:
        return redact_pdu(event.pdu, event.room_version)
    return dict(event.pdu)


def server_may_see(
    origin: str,
    visibility: str,
    memberships: Mapping[str, str],
    origin_in_room: bool,
) -> bool:
    """Whether ``origin`` may see an event, from the state at it.

    Args:
        visibility: the history visibility at the event.
        memberships: user ID -> membership at the event, for the origin's users.
        origin_in_room: the origin has a joined user now.
    """
    if visibility == HistoryVisibility.WORLD_READABLE:
        return True
    values = set(memberships.values())
    if Membership.JOIN in values:
        return True
    if visibility == HistoryVisibility.INVITED:
        return Membership.INVITE in values
    if visibility == HistoryVisibility.SHARED:
        return origin_in_room
    return False


def _auth_ids(event: Event) -> list[str]:
    """An event's auth events; in v12 rooms the create event, which is never
    listed, counts too (whoever checks the event needs it)."""
    ids = list(event.auth_event_ids)
    create_id = create_event_id(event)
    if create_id is not None and event.type != EventTypes.CREATE:
        ids.append(create_id)
    return ids


class FederationReadService:
    """Answers the federation read endpoints."""

    def __init__(
        self,
        *,
        server_name: str,
        events: EventStore,
        room_state: RoomStateStore,
        event_state: EventStateStore,
        store: FederationStore,
        acl: ServerAclChecker,
        clock: Clock,
        erased: ErasedUsers = nobody_erased,
    ) -> None:
        self.server_name = server_name
        self.erased = erased
        self.events = events
        self.room_state = room_state
        self.event_state = event_state
        self.store = store
        self.acl = acl
        self.clock = clock

    def _transaction(self, pdus: list[JsonDict]) -> JsonDict:
        return {
            "origin": self.server_name,
            "origin_server_ts": self.clock.time_msec(),
            "pdus": pdus,
        }

    async def check_room_access(self, origin: str, room_id: str) -> None:
        """The ACL, then: the origin is in the room, or it is world-readable.

        Raises:
            MatrixError: 403 M_FORBIDDEN; 404 for a room we do not know.
        """
        if await self.room_state.get_room_version(room_id) is None:
            raise NotFound("Unknown room")
        await self.acl.check(origin, room_id)
        if origin in await self.store.get_joined_servers(room_id):
            return
        vis_id = await self.room_state.get_current_state_event_id(
            room_id, *HISTORY_VISIBILITY_KEY
        )
        vis = await self.events.get_event(vis_id) if vis_id else None
        if vis is not None and vis.content.get("history_visibility") == (
            HistoryVisibility.WORLD_READABLE
        ):
            return
        logger.warning("refusing %s access to %s: not in the room", origin, room_id)
        raise Forbidden("Server is not in the room")

    async def check_in_room(self, origin: str, room_id: str) -> None:
        """The ACL, then: the origin has a joined user in the room now.

        What /state, /state_ids, /event_auth, /backfill and
        /get_missing_events ask, as Synapse's ``assert_host_in_room``: no
        exception for world-readable rooms, so a server whose users were all
        banned (or left) reads no more of the room's state or history.

        Raises:
            MatrixError: 403 M_FORBIDDEN; 404 for a room we do not know.
        """
        if await self.room_state.get_room_version(room_id) is None:
            raise NotFound("Unknown room")
        await self.acl.check(origin, room_id)
        if origin not in await self.store.get_joined_servers(room_id):
            logger.warning("refusing %s a read of %s: not in the room", origin, room_id)
            raise Forbidden("Server is not in the room")

    async def _room_event(self, room_id: str, event_id: str) -> Event:
        """A DAG event of the room; a rejected event is not served (404, as
        Synapse), and no state is known at an outlier."""
        event = await self.events.get_event(event_id)
        if (
            event is None
            or event.room_id != room_id
            or event.outlier
            or event.rejected_reason is not None
        ):
            raise NotFound(f"Unknown event {event_id}")
        return event

    async def visible_to(self, origin: str, events: Collection[Event]) -> set[str]:
        """The IDs of ``events`` (DAG events of one room) ``origin`` may see."""
        if not events:
            return set()
        room_id = next(iter(events)).room_id
        in_room = origin in await self.store.get_joined_servers(room_id)
        states = await self.event_state.get_state_ids_for_events(
            [e.event_id for e in events],
            StateSelection(
                keys=frozenset({HISTORY_VISIBILITY_KEY}),
                types=frozenset({EventTypes.MEMBER}),
            ),
        )
        wanted = {
            eid
            for state in states.values()
            for key, eid in state.items()
            if key == HISTORY_VISIBILITY_KEY or has_domain(key[1], origin)
        }
        found = await self.events.get_events(wanted)
        visible = set()
        for event in events:
            state = states.get(event.event_id, {})
            vis_event = found.get(state.get(HISTORY_VISIBILITY_KEY, ""))
            visibility = (
                vis_event.content.get("history_visibility")
                if vis_event is not None
                else HistoryVisibility.SHARED
            )
            memberships = {
                key[1]: found[eid].membership or ""
                for key, eid in state.items()
                if key[0] == EventTypes.MEMBER and eid in found
            }
            if server_may_see(origin, str(visibility), memberships, in_room):
                visible.add(event.event_id)
        return visible

    async def _erased_senders(self, events: Collection[Event]) -> set[str]:
        """Which of our users among the senders of ``events`` were erased."""
        ours = {e.sender for e in events if has_domain(e.sender, self.server_name)}
        return await self.erased(ours) if ours else set()

    async def _pdus(self, origin: str, events: list[Event]) -> list[JsonDict]:
        """Events as PDUs, redacted where ``origin`` may not see them or
        their sender was erased."""
        visible = await self.visible_to(origin, [e for e in events if not e.outlier])
        erased = await self._erased_senders(events)
        out = []
        for event in events:
            pdu = pdu_for_federation(event)
            hidden = event.event_id not in visible and not event.outlier
            if hidden or event.sender in erased:
                pdu = redact_pdu(pdu, event.room_version)
            out.append(pdu)
        return out

    async def get_event(self, origin: str, event_id: str) -> JsonDict:
        """GET /event/{eventId}."""
        event = await self.events.get_event(event_id)
        if event is None or event.rejected_reason is not None:
            raise NotFound(f"Unknown event {event_id}")
        await self.acl.check(origin, event.room_id)
        if event.outlier:
            # No state is known at an outlier: only servers in the room.
            await self.check_room_access(origin, event.room_id)
        elif event.event_id not in await self.visible_to(origin, [event]):
            logger.warning("refusing %s the event %s: not visible", origin, event_id)
            raise Forbidden("You are not allowed to see this event")
        pdu = pdu_for_federation(event)
        if await self._erased_senders([event]):
            pdu = redact_pdu(pdu, event.room_version)
        return self._transaction([pdu])

    async def state_ids_before(
        self, room_id: str, event_id: str
    ) -> tuple[dict[StateKey, str], set[str]]:
        """The state before a DAG event, and the auth chain of that state."""
        event = await self._room_event(room_id, event_id)
        after = await self.event_state.get_state_ids_for_event(
            event_id, StateSelection.all()
        )
        if after is None:
            raise NotFound(f"No state known at {event_id}")
        state = dict(after)
        if event.is_state() and event.rejected_reason is None:
            if event.replaces_state:
                state[event.state_tuple] = event.replaces_state
            else:
                state.pop(event.state_tuple, None)
        return state, await self.auth_chain(state.values())

    async def auth_chain(self, event_ids: Collection[str]) -> set[str]:
        """Every event in the auth chains of ``event_ids``."""
        chain: set[str] = set()
        frontier = set(event_ids)
        while frontier:
            found = await self.events.get_events(frontier)
            frontier = {
                auth_id
                for event in found.values()
                for auth_id in _auth_ids(event)
                if auth_id not in chain
            }
            chain |= frontier
        return chain

    async def get_state(
        self, origin: str, room_id: str, event_id: str, ids_only: bool
    ) -> JsonDict:
        """GET /state/{roomId} and /state_ids/{roomId}."""
        await self.check_in_room(origin, room_id)
        state, chain = await self.state_ids_before(room_id, event_id)
        if ids_only:
            return {"pdu_ids": sorted(state.values()), "auth_chain_ids": sorted(chain)}
        found = await self.events.get_events([*state.values(), *chain])
        return {
            "pdus": [
                pdu_for_federation(found[e])
                for e in sorted(state.values())
                if e in found
            ],
            "auth_chain": [
                pdu_for_federation(found[e]) for e in sorted(chain) if e in found
            ],
        }

    async def get_event_auth(
        self, origin: str, room_id: str, event_id: str
    ) -> JsonDict:
        """GET /event_auth/{roomId}/{eventId}."""
        await self.check_in_room(origin, room_id)
        event = await self.events.get_event(event_id)
        if event is None or event.room_id != room_id or event.rejected_reason:
            raise NotFound(f"Unknown event {event_id}")
        chain = await self.auth_chain([event_id])
        found = await self.events.get_events(chain)
        ordered = sorted(found.values(), key=lambda e: (e.depth, e.event_id))
        return {"auth_chain": [pdu_for_federation(e) for e in ordered]}

    async def backfill(
        self, origin: str, room_id: str, starts: list[str], limit: int
    ) -> JsonDict:
        """GET /backfill/{roomId}: ``starts`` and the events before them,
        newest first, up to ``limit``."""
        await self.check_in_room(origin, room_id)
        limit = max(0, min(limit, MAX_BACKFILL))
        events = await self._walk_back(room_id, starts, set(), limit, 0)
        events.sort(key=lambda e: (-e.depth, e.event_id))
        return self._transaction(await self._pdus(origin, events))

    async def get_missing_events(
        self,
        origin: str,
        room_id: str,
        earliest: list[str],
        latest: list[str],
        limit: int,
        min_depth: int,
    ) -> JsonDict:
        """POST /get_missing_events/{roomId}: the events before ``latest`` the
        origin lacks (not at or before ``earliest``), oldest first."""
        await self.check_in_room(origin, room_id)
        limit = max(0, min(limit, MAX_MISSING_EVENTS))
        found = await self.events.get_events(latest)
        starts = [
            p for e in found.values() if e.room_id == room_id for p in e.prev_event_ids
        ]
        events = await self._walk_back(
            room_id, starts, set(earliest) | set(latest), limit, min_depth
        )
        events.sort(key=lambda e: (e.depth, e.event_id))
        return {"events": await self._pdus(origin, events)}

    async def _walk_back(
        self,
        room_id: str,
        starts: list[str],
        stop: set[str],
        limit: int,
        min_depth: int,
    ) -> list[Event]:
        """Breadth-first over prev edges from ``starts`` (newest first); only
        DAG events (we know nothing around outliers)."""
        out: dict[str, Event] = {}
        frontier = [s for s in dict.fromkeys(starts) if s not in stop]
        seen = set(frontier) | stop
        while frontier and len(out) < limit:
            found = await self.events.get_events(frontier)
            batch = sorted(
                (e for e in found.values() if e.room_id == room_id),
                key=lambda e: (-e.depth, e.event_id),
            )
            next_ids: list[str] = []
            for event in batch:
                if len(out) >= limit:
                    break
                if event.depth < min_depth or event.outlier:
                    continue
                if event.rejected_reason is None:
                    out[event.event_id] = event
                for prev in event.prev_event_ids:
                    if prev not in seen:
                        seen.add(prev)
                        next_ids.append(prev)
            frontier = next_ids
        return list(out.values())
