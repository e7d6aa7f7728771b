"""Relations and threads.

Spec: client-server API, "Event relationships" (GET
/_matrix/client/v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]])
and "Threading" (GET /_matrix/client/v1/rooms/{roomId}/threads). Both are
v1-only: they never existed under r0 or v3.
"""

from __future__ import annotations

from homeserver.api.client.paging import limit_param, room_token_param
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.errors import InvalidParam
from homeserver.services.accounts.auth import Auth
from homeserver.services.relations.relations import (
    RelationsRequest,
    RelationsService,
    ThreadsRequest,
)
from homeserver.storage.stores.relations import ChildrenQuery
from homeserver.streams.tokens import Direction
from homeserver.types import JsonDict


def _v1(path: str) -> list[str]:
    return client_patterns(path, r0=False, v3=False, v1=True)


class RelationsEndpoint:
    """GET /v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]."""

    PATTERNS = (
        _v1("/rooms/{room_id}/relations/{event_id}")
        + _v1("/rooms/{room_id}/relations/{event_id}/{rel_type}")
        + _v1("/rooms/{room_id}/relations/{event_id}/{rel_type}/{event_type}")
    )

    def __init__(self, auth: Auth, relations: RelationsService) -> None:
        self.auth = auth
        self.relations = relations

    async def on_GET(
        self,
        request: ApiRequest,
        room_id: str,
        event_id: str,
        rel_type: str | None = None,
        event_type: str | None = None,
    ) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        recurse = request.query_bool(
            "recurse", request.query_bool("org.matrix.msc3981.recurse")
        )
        query = ChildrenQuery(
            rel_type=rel_type,
            event_type=event_type,
            direction=Direction.parse(request.query_str("dir", "b")),
            from_token=room_token_param(request, "from"),
            to_token=room_token_param(request, "to"),
            recurse=recurse,
        )
        return await self.relations.get_relations(
            requester, room_id, event_id, RelationsRequest(query, limit_param(request))
        )


class ThreadsEndpoint:
    """GET /v1/rooms/{roomId}/threads."""

    PATTERNS = _v1("/rooms/{room_id}/threads")

    def __init__(self, auth: Auth, relations: RelationsService) -> None:
        self.auth = auth
        self.relations = relations

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        include = request.query_str("include", "all")
        if include not in ("all", "participated"):
            raise InvalidParam("include must be 'all' or 'participated'")
        threads_request = ThreadsRequest(
            participated=include == "participated",
            from_token=request.query_str("from") or None,
            limit=limit_param(request),
        )
        return await self.relations.get_threads(requester, room_id, threads_request)
