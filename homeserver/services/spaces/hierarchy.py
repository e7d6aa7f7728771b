"""``GET /_matrix/client/v1/rooms/{roomId}/hierarchy``: walking a space.

Spec: client-server API "Spaces" (space_hierarchy.yaml). The walk follows
Synapse's ``RoomSummaryHandler``: depth first, children in the spec's order;
a room this server is joined to is summarised from local state, any other
through ``GET /_matrix/federation/v1/hierarchy`` at up to three of its
``via`` servers (whose answer also carries the summaries of the children, used
for children that are not spaces). Rooms the user may not see are left out,
and so are their children. A page holds at most ``limit`` rooms (default and
maximum 50); the rest of the walk is kept as a pagination session for five
minutes under the opaque ``next_batch`` token, bound to the user, the room,
``suggested_only`` and ``max_depth``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import attrs

from homeserver.config.sections.limits import RateLimit
from homeserver.errors import Codes, Forbidden, InvalidParam, MatrixError
from homeserver.events.ids import try_domain_of
from homeserver.services.accounts.auth import Requester
from homeserver.services.spaces.ports import NoRemoteHierarchy, RemoteHierarchyPort
from homeserver.services.spaces.summary import (
    ROOM_TYPE_SPACE,
    SPACE_CHILD,
    RoomEntry,
    RoomSummaries,
)
from homeserver.storage.stores.hierarchy_sessions import HierarchySessionStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.ports import Port
from homeserver.util.ratelimit import Ratelimiter

logger = logging.getLogger(__name__)

MAX_ROOMS = 50
MAX_SERVERS_PER_SPACE = 3
SESSION_VALIDITY_MS = 5 * 60 * 1000


@attrs.frozen
class HierarchyQuery:
    """A parsed ``/hierarchy`` request."""

    room_id: str
    suggested_only: bool = False
    max_depth: int | None = None
    limit: int | None = None
    from_token: str | None = None
    # MSC4235: servers to ask about the starting room if we are not in it.
    via: tuple[str, ...] = ()


@attrs.frozen
class _Queued:
    """A room still to visit: how to reach it, and how deep it is."""

    room_id: str
    via: tuple[str, ...]
    depth: int = 0
    # Its summary from the parent's remote answer, if any.
    remote_room: JsonDict | None = None

    def to_json(self) -> list[object]:
        return [self.room_id, list(self.via), self.depth, self.remote_room]

    @classmethod
    def from_json(cls, value: object) -> _Queued:
        if not isinstance(value, list) or len(value) != 4:
            raise ValueError("bad queue entry")
        room_id, via, depth, remote = value
        if not isinstance(room_id, str) or not isinstance(depth, int):
            raise ValueError("bad queue entry")
        if not isinstance(via, list) or not isinstance(remote, dict | None):
            raise ValueError("bad queue entry")
        return cls(room_id, tuple(str(v) for v in via), depth, remote)


def _root_via(room_id: str) -> tuple[str, ...]:
    """Where to ask about a room we are not in: the server in its ID (a
    client names no servers here; v12 room IDs name none)."""
    domain = try_domain_of(room_id)
    return (domain,) if domain else ()


class SpaceHierarchyService:
    """Answers ``/hierarchy`` for local users."""

    def __init__(
        self,
        *,
        server_name: str,
        summaries: RoomSummaries,
        sessions: HierarchySessionStore,
        clock: Clock,
        ratelimiter: Ratelimiter,
        rate: RateLimit,
    ) -> None:
        self.server_name = server_name
        self.summaries = summaries
        self.sessions = sessions
        self.clock = clock
        self.ratelimiter = ratelimiter
        self.rate = rate
        # Other servers' rooms (federation plugs itself in).
        self.remote: Port[RemoteHierarchyPort] = Port(NoRemoteHierarchy())

    async def get_hierarchy(
        self, requester: Requester, query: HierarchyQuery
    ) -> JsonDict:
        """One page of the space tree under ``query.room_id``.

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a bad limit, depth or token;
                403 M_FORBIDDEN if the user may not see the room;
                429 M_LIMIT_EXCEEDED.
        """
        if query.limit is not None and query.limit <= 0:
            raise InvalidParam("'limit' must be a positive integer")
        if query.max_depth is not None and query.max_depth < 0:
            raise InvalidParam("'max_depth' must be a non-negative integer")
        await self.ratelimiter.check_requester("room_hierarchy", requester, self.rate)
        user_id = requester.user_id
        await self._check_root(user_id, query)
        if query.from_token:
            queue, processed = await self._load_session(user_id, query)
        else:
            root = _Queued(query.room_id, query.via or _root_via(query.room_id))
            queue, processed = [root], set()
        limit = min(query.limit or MAX_ROOMS, MAX_ROOMS)
        rooms: list[JsonDict] = []
        while queue and len(rooms) < limit:
            entry = queue.pop()
            if entry.room_id in processed:
                continue
            found, child_rooms, inaccessible = await self._visit(user_id, entry, query)
            processed.add(entry.room_id)
            if found is None:
                continue
            rooms.append(found.as_json(for_client=True))
            if query.max_depth is None or entry.depth < query.max_depth:
                # Reversed, so that the next room to visit is the last one.
                queue.extend(
                    _Queued(
                        str(ev["state_key"]),
                        tuple(ev["content"]["via"]),
                        entry.depth + 1,
                        child_rooms.get(str(ev["state_key"])),
                    )
                    for ev in reversed(found.children_state)
                    if ev.get("type") == SPACE_CHILD
                    and ev.get("state_key") not in inaccessible
                )
        result: JsonDict = {"rooms": rooms}
        if queue:
            result["next_batch"] = await self._save_session(
                user_id, query, queue, processed
            )
        return result

    async def _check_root(self, user_id: str, query: HierarchyQuery) -> None:
        """403 unless the user may see the room the walk starts at."""
        room_id = query.room_id
        if await self.summaries.is_host_joined(room_id):
            if not await self.summaries.is_accessible(room_id, user_id=user_id):
                raise Forbidden("You are not allowed to view this room.")
            return
        found, _, _ = await self._fetch_remote(
            _Queued(room_id, query.via or _root_via(room_id)), False
        )
        if found is None or not await self.summaries.is_remote_accessible(
            user_id, room_id, found.room
        ):
            raise Forbidden("You are not allowed to view this room.")

    async def _visit(
        self, user_id: str, entry: _Queued, query: HierarchyQuery
    ) -> tuple[RoomEntry | None, dict[str, JsonDict], set[str]]:
        """The room's entry (None if the user may not see it), and what the
        remote answer said of its children."""
        if await self.summaries.is_host_joined(entry.room_id):
            local = await self.summaries.summarize(
                entry.room_id, query.suggested_only, user_id=user_id
            )
            return local, {}, set()
        children: dict[str, JsonDict] = {}
        inaccessible: set[str] = set()
        remote = entry.remote_room
        at_bottom = query.max_depth is not None and entry.depth >= query.max_depth
        if remote is not None and (
            remote.get("room_type") != ROOM_TYPE_SPACE or at_bottom
        ):
            found: RoomEntry | None = RoomEntry(entry.room_id, remote)
        else:
            found, children, inaccessible = await self._fetch_remote(
                entry, query.suggested_only
            )
        if found is not None and not await self.summaries.is_remote_accessible(
            user_id, entry.room_id, found.room
        ):
            found = None
        return found, children, inaccessible

    async def _fetch_remote(
        self, entry: _Queued, suggested_only: bool
    ) -> tuple[RoomEntry | None, dict[str, JsonDict], set[str]]:
        via = [v for v in entry.via if v != self.server_name][:MAX_SERVERS_PER_SPACE]
        if not via:
            return None, {}, set()
        try:
            answer = await self.remote.get().get_room_hierarchy(
                via, entry.room_id, suggested_only
            )
        except MatrixError as exc:
            logger.warning(
                "hierarchy of %s via %s failed: %s", entry.room_id, via, exc.msg
            )
            return None, {}, set()
        children = {
            c["room_id"]: c
            for c in answer.children
            if isinstance(c.get("room_id"), str)
        }
        found = RoomEntry(entry.room_id, answer.room, list(answer.children_state))
        return found, children, set(answer.inaccessible_children)

    async def _save_session(
        self,
        user_id: str,
        query: HierarchyQuery,
        queue: Sequence[_Queued],
        processed: set[str],
    ) -> str:
        value = {
            "room_id": query.room_id,
            "suggested_only": query.suggested_only,
            "max_depth": query.max_depth,
            "room_queue": [q.to_json() for q in queue],
            "processed_rooms": sorted(processed),
        }
        return await self.sessions.insert_session(
            user_id, value, self.clock.time_msec(), SESSION_VALIDITY_MS
        )

    async def _load_session(
        self, user_id: str, query: HierarchyQuery
    ) -> tuple[list[_Queued], set[str]]:
        assert query.from_token is not None
        session = await self.sessions.get_session(
            query.from_token, user_id, self.clock.time_msec()
        )
        if session is None:
            raise InvalidParam("Unknown pagination token")
        if (
            session.get("room_id") != query.room_id
            or session.get("suggested_only") != query.suggested_only
            or session.get("max_depth") != query.max_depth
        ):
            raise MatrixError(
                400,
                "suggested_only and max_depth cannot change on paginated requests",
                Codes.INVALID_PARAM,
            )
        try:
            queue = [_Queued.from_json(v) for v in session["room_queue"]]
            processed = {str(r) for r in session["processed_rooms"]}
        except (KeyError, TypeError, ValueError):
            raise InvalidParam("Unknown pagination token") from None
        return queue, processed
