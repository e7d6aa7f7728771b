"""Spaces: GET /rooms/{roomId}/hierarchy.

Spec: client-server API "Spaces" (space_hierarchy.yaml).
"""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.spaces.hierarchy import HierarchyQuery, SpaceHierarchyService
from homeserver.types import JsonDict

# MSC4235 (Synapse has it behind msc4235_enabled): servers to ask about a
# starting room this server is not in.
VIA_PARAM = "org.matrix.msc4235.via"


class HierarchyEndpoint:
    """GET /_matrix/client/v1/rooms/{roomId}/hierarchy."""

    PATTERNS = client_patterns(
        "/rooms/{room_id}/hierarchy", r0=False, v3=False, v1=True
    )

    def __init__(self, auth: Auth, hierarchy: SpaceHierarchyService) -> None:
        self.auth = auth
        self.hierarchy = hierarchy

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        # Guests may browse spaces, as in Synapse.
        requester = await requester_of(self.auth, request, allow_guest=True)
        query = HierarchyQuery(
            room_id=room_id,
            suggested_only=request.query_bool("suggested_only"),
            max_depth=request.query_int("max_depth"),
            limit=request.query_int("limit"),
            from_token=request.query_str("from"),
            via=tuple(request.query.get(VIA_PARAM) or ()),
        )
        return await self.hierarchy.get_hierarchy(requester, query)
