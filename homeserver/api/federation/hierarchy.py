"""Federation space hierarchy: GET /_matrix/federation/v1/hierarchy/{roomId}.

Spec: server-server API "Spaces" (space_hierarchy.yaml).
"""

from __future__ import annotations

from homeserver.api.federation.membership import FED, Authenticator
from homeserver.api.http.request import ApiRequest
from homeserver.federation.serving.hierarchy import FederationHierarchy
from homeserver.types import JsonDict


class FederationHierarchyEndpoint:
    """GET /_matrix/federation/v1/hierarchy/{roomId}?suggested_only=."""

    PATTERNS = [f"{FED}/v1/hierarchy/{{room_id}}"]

    def __init__(
        self, authenticator: Authenticator, hierarchy: FederationHierarchy
    ) -> None:
        self.authenticator = authenticator
        self.hierarchy = hierarchy

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        # The signature, then the room's server ACL, before anything else.
        origin = await self.authenticator.authenticate_in_room(request, room_id)
        return await self.hierarchy.get_hierarchy(
            origin, room_id, request.query_bool("suggested_only")
        )
