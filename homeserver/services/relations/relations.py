"""Reading an event's relations and a room's threads.

Spec: client-server API, "Event relationships" (GET
/_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]])
and "Threading" (GET /_matrix/client/v1/rooms/{roomId}/threads). Both page
through the relations index and hand what they find to
``RelatedEventsViewer.choose``; hidden events are read past, as /messages
does, up to ``MAX_ROUNDS`` queries a page.
"""

from __future__ import annotations

import re

import attrs

from homeserver.errors import InvalidParam, NotFound
from homeserver.events.model import Event
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.serializer import EventSerializer
from homeserver.services.reading.visibility import VisibilityService
from homeserver.services.relations.viewer import RelatedEventsViewer
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.relations import (
    MAX_RECURSION_DEPTH,
    ChildrenQuery,
    RelationsStore,
)
from homeserver.streams.tokens import RoomStreamToken
from homeserver.types import JsonDict

DEFAULT_LIMIT = 5
MAX_LIMIT = 1000
MAX_ROUNDS = 5
_THREADS_TOKEN = re.compile(r"(-?[0-9]{1,19})_(.+)", re.DOTALL)


@attrs.frozen
class RelationsRequest:
    """GET /relations, parsed."""

    query: ChildrenQuery
    limit: int | None = None


@attrs.frozen
class ThreadsRequest:
    """GET /threads, parsed.

    Args:
        participated: only threads the user started or replied in.
        from_token: a ``next_batch`` of an earlier page.
    """

    participated: bool = False
    from_token: str | None = None
    limit: int | None = None


def _limit(limit: int | None) -> int:
    return min(limit if limit is not None else DEFAULT_LIMIT, MAX_LIMIT)


def parse_threads_token(value: str) -> tuple[int, str]:
    """A /threads ``from`` token: ``<stream ordering>_<thread root ID>``.

    Raises:
        InvalidParam: 400 M_INVALID_PARAM if malformed.
    """
    match = _THREADS_TOKEN.fullmatch(value)
    # a stream ordering is a 64-bit integer, as the databases store it
    if match is None or not -(2**63) <= int(match.group(1)) < 2**63:
        raise InvalidParam("Invalid pagination token in 'from'")
    return int(match.group(1)), match.group(2)


class RelationsService:
    """GET /relations and GET /threads."""

    def __init__(
        self,
        *,
        events: EventStore,
        store: RelationsStore,
        visibility: VisibilityService,
        viewer: RelatedEventsViewer,
        serializer: EventSerializer,
    ) -> None:
        self.events = events
        self.store = store
        self.visibility = visibility
        self.viewer = viewer
        self.serializer = serializer

    async def get_relations(
        self,
        requester: Requester,
        room_id: str,
        parent_id: str,
        request: RelationsRequest,
    ) -> JsonDict:
        """The children of ``parent_id`` the user may see, a page at a time."""
        await self.visibility.check_room_access(room_id, requester.user_id)
        parent = await self.events.get_event(parent_id)
        if parent is None or parent.room_id != room_id:
            raise NotFound("Event not found")
        if not await self.viewer.choose(requester.user_id, [parent]):
            raise NotFound("Event not found")
        limit = _limit(request.limit)
        query = request.query
        collected: list[Event] = []
        token = query.from_token
        exhausted = limit == 0
        for attempt in range(MAX_ROUNDS):
            if exhausted:
                break
            batch = min(2 * (limit - len(collected)) << attempt, MAX_LIMIT)
            positions = await self.store.get_children(
                room_id, parent_id, attrs.evolve(query, from_token=token), batch
            )
            exhausted = len(positions) < batch
            fetched = await self.events.get_events([p.event_id for p in positions])
            found = [fetched[p.event_id] for p in positions if p.event_id in fetched]
            chosen = await self.viewer.choose(requester.user_id, found)
            shown = {e.event_id: e for e in chosen}  # as the user sees them
            for index, position in enumerate(positions):
                token = RoomStreamToken.after_event(
                    position.topological, query.direction
                )
                if position.event_id in shown:
                    collected.append(shown[position.event_id])
                    if len(collected) == limit:
                        exhausted = exhausted and index == len(positions) - 1
                        break
            if len(collected) == limit:
                break
        body: JsonDict = {
            "chunk": await self.serializer.serialize(collected, requester)
        }
        if not exhausted and token is not None:
            body["next_batch"] = token.to_string()
        if query.from_token is not None:
            body["prev_batch"] = query.from_token.to_string()
        if query.recurse:
            body["recursion_depth"] = MAX_RECURSION_DEPTH
        return body

    async def get_threads(
        self, requester: Requester, room_id: str, request: ThreadsRequest
    ) -> JsonDict:
        """The room's threads the user may see, most recently active first."""
        user_id = requester.user_id
        await self.visibility.check_room_access(room_id, user_id)
        limit = _limit(request.limit)
        before = parse_threads_token(request.from_token) if request.from_token else None
        participant = user_id if request.participated else None
        roots: list[Event] = []
        more = False
        for attempt in range(MAX_ROUNDS):
            if limit == 0:
                break
            batch = min(2 * (limit - len(roots)) << attempt, MAX_LIMIT)
            rows = await self.store.get_threads(room_id, before, batch, participant)
            fetched = await self.events.get_events([r.thread_id for r in rows])
            # A root of another room (named by a remote thread reply) is no
            # thread of this room.
            found = [
                fetched[r.thread_id]
                for r in rows
                if r.thread_id in fetched and fetched[r.thread_id].room_id == room_id
            ]
            chosen = await self.viewer.choose(user_id, found)
            shown = {e.event_id: e for e in chosen}
            more = len(rows) == batch
            for index, row in enumerate(rows):
                before = (row.latest_stream_ordering, row.thread_id)
                if row.thread_id in shown:
                    roots.append(shown[row.thread_id])
                    if len(roots) == limit:
                        more = more or index < len(rows) - 1
                        break
            if len(roots) == limit or not more:
                break
        body: JsonDict = {"chunk": await self.serializer.serialize(roots, requester)}
        if more and before is not None:
            body["next_batch"] = f"{before[0]}_{before[1]}"
        return body
