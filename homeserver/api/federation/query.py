"""Federation query endpoints: profile, directory, publicRooms.

Spec: server-server-api.md "Query Types" (query.yaml) and "Public Room
Directory" (public_rooms.yaml).
"""

from __future__ import annotations

from typing import Any

from homeserver.api.client.bodies.directory import PublicRoomsBody
from homeserver.api.federation.membership import FED, Authenticator
from homeserver.api.http.request import ApiRequest
from homeserver.federation.serving.queries import FederationQueries
from homeserver.services.rooms.room_list import PublicRoomsQuery
from homeserver.types import JsonDict


class _Endpoint:
    def __init__(
        self, authenticator: Authenticator, queries: FederationQueries
    ) -> None:
        self.authenticator = authenticator
        self.queries = queries


class QueryProfileEndpoint(_Endpoint):
    """GET /_matrix/federation/v1/query/profile?user_id=&field=."""

    PATTERNS = [f"{FED}/v1/query/profile"]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await self.authenticator.authenticate(request)
        return await self.queries.profile(
            request.query_str("user_id"), request.query_str("field")
        )


class QueryDirectoryEndpoint(_Endpoint):
    """GET /_matrix/federation/v1/query/directory?room_alias=."""

    PATTERNS = [f"{FED}/v1/query/directory"]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await self.authenticator.authenticate(request)
        return await self.queries.directory(request.query_str("room_alias"))


class PublicRoomsEndpoint(_Endpoint):
    """GET and POST /_matrix/federation/v1/publicRooms."""

    PATTERNS = [f"{FED}/v1/publicRooms"]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await self.authenticator.authenticate(request)
        query = PublicRoomsQuery(
            limit=request.query_int("limit"),
            since=request.query_str("since"),
            third_party_instance_id=request.query_str("third_party_instance_id"),
        )
        return await self.queries.public_rooms(query)

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        await self.authenticator.authenticate(request)
        query = request.parse(PublicRoomsBody, allow_empty=True).query(None)
        return await self.queries.public_rooms(query)


def query_endpoints(
    authenticator: Authenticator, queries: FederationQueries
) -> list[Any]:
    """Every query endpoint of this module."""
    return [
        cls(authenticator, queries)
        for cls in (QueryProfileEndpoint, QueryDirectoryEndpoint, PublicRoomsEndpoint)
    ]
