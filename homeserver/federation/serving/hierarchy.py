"""Space hierarchies over federation, both ways.

Spec: server-server API "Spaces" (GET /_matrix/federation/v1/hierarchy/
{roomId}, space_hierarchy.yaml). ``FederationHierarchy`` answers other
servers: the room (if the asking server may see it; 404 otherwise), the
summaries of the children we are in that it may see, and the IDs of those it
may not (``inaccessible_children``); the room's server ACL is checked before
anything else (the endpoint's ``RoomRequestAuthenticator``).
``RemoteHierarchyFetcher`` asks other servers for our clients' walks and keeps
each valid answer for five minutes, as Synapse does (at most 1,000 answers).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from urllib.parse import quote

from homeserver.errors import Codes, MatrixError, NotFound
from homeserver.federation.errors import HttpResponseError, RequestSendFailed
from homeserver.federation.interfaces import FederationTransport
from homeserver.services.spaces.ports import RemoteHierarchy
from homeserver.services.spaces.summary import RoomSummaries
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

MAX_ROOMS_PER_SPACE = 50
CACHE_MS = 5 * 60 * 1000
CACHE_SIZE = 1000
REQUEST_TIMEOUT_MS = 30_000
PATH = "/_matrix/federation/v1/hierarchy/"


class FederationHierarchy:
    """Answers other servers' ``GET /hierarchy/{roomId}``."""

    def __init__(self, summaries: RoomSummaries) -> None:
        self.summaries = summaries

    async def get_hierarchy(
        self, origin: str, room_id: str, suggested_only: bool
    ) -> JsonDict:
        """The room and its children as ``origin`` may see them (the room's
        server ACL was checked by the endpoint's ``RoomRequestAuthenticator``
        before anything else).

        Raises:
            MatrixError: 404 M_NOT_FOUND if we do not know the room or
                ``origin`` may not see it.
        """
        root = await self.summaries.summarize(room_id, suggested_only, origin=origin)
        if root is None:
            raise NotFound(f"Unknown room: {room_id}")
        children: list[JsonDict] = []
        inaccessible: list[str] = []
        for child in itertools.islice(root.children_state, MAX_ROOMS_PER_SPACE):
            child_id = str(child["state_key"])
            if not await self.summaries.is_host_joined(child_id):
                continue  # not ours to describe
            entry = await self.summaries.summarize(
                child_id, suggested_only, origin=origin, include_children=False
            )
            if entry is not None:
                children.append(entry.room)
            else:
                inaccessible.append(child_id)
        return {
            "room": root.as_json(),
            "children": children,
            "inaccessible_children": inaccessible,
        }


class RemoteHierarchyFetcher:
    """Asks other servers for a room's hierarchy (the spaces domain's
    ``RemoteHierarchyPort``)."""

    def __init__(self, transport: FederationTransport, clock: Clock) -> None:
        self.transport = transport
        self.clock = clock
        # (room_id, suggested_only) -> (expiry, answer)
        self._cache: dict[tuple[str, bool], tuple[int, RemoteHierarchy]] = {}

    async def get_room_hierarchy(
        self, destinations: Sequence[str], room_id: str, suggested_only: bool
    ) -> RemoteHierarchy:
        """The first valid answer of ``destinations``, tried in turn.

        Raises:
            MatrixError: 502 if none of them gave one.
        """
        now = self.clock.time_msec()
        key = (room_id, suggested_only)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        last: Exception | None = None
        for destination in destinations:
            try:
                answer = await self.transport.get_json(
                    destination,
                    PATH + quote(room_id, safe=""),
                    {"suggested_only": "true" if suggested_only else "false"},
                    timeout_ms=REQUEST_TIMEOUT_MS,
                )
                result = parse_answer(answer, room_id)
            except (HttpResponseError, RequestSendFailed, ValueError) as exc:
                logger.info("hierarchy of %s at %s: %s", room_id, destination, exc)
                last = exc
                continue
            self._expire(now)
            self._cache[key] = (now + CACHE_MS, result)
            return result
        raise MatrixError(
            502, f"Could not fetch the hierarchy of {room_id}: {last}", Codes.UNKNOWN
        )

    def _expire(self, now: int) -> None:
        for key in [k for k, (expiry, _) in self._cache.items() if expiry <= now]:
            del self._cache[key]
        # Bounded: the oldest answers go first (dicts keep insertion order).
        while len(self._cache) >= CACHE_SIZE:
            del self._cache[next(iter(self._cache))]


def parse_answer(answer: object, room_id: str) -> RemoteHierarchy:
    """Check another server's answer (as Synapse's federation client does).

    Raises:
        ValueError: naming what is wrong with it.
    """
    if not isinstance(answer, dict):
        raise ValueError("the answer must be an object")
    room = answer.get("room")
    if not isinstance(room, dict):
        raise ValueError("'room' must be an object")
    if room.get("room_id") != room_id:
        raise ValueError("wrong room returned in hierarchy response")
    room = dict(room)
    children_state = room.pop("children_state", [])
    if not isinstance(children_state, list):
        raise ValueError("'room.children_state' must be a list")
    for event in children_state:
        _check_child_event(event)
    children = answer.get("children", [])
    if not isinstance(children, list) or not all(isinstance(c, dict) for c in children):
        raise ValueError("'children' must be a list of objects")
    inaccessible = answer.get("inaccessible_children", [])
    if not isinstance(inaccessible, list) or not all(
        isinstance(r, str) for r in inaccessible
    ):
        raise ValueError("'inaccessible_children' must be a list of room IDs")
    return RemoteHierarchy(
        room=room,
        children_state=children_state,
        children=children,
        inaccessible_children=inaccessible,
    )


def _check_child_event(event: object) -> None:
    if not isinstance(event, dict):
        raise ValueError("invalid event in 'children_state'")
    if not isinstance(event.get("type"), str):
        raise ValueError("invalid event: 'type' must be a string")
    if not isinstance(event.get("state_key"), str):
        raise ValueError("invalid event: 'state_key' must be a string")
    content = event.get("content")
    if not isinstance(content, dict):
        raise ValueError("invalid event: 'content' must be an object")
    via = content.get("via")
    if not isinstance(via, list) or not all(isinstance(v, str) for v in via):
        raise ValueError("invalid event: 'via' must be a list of strings")
