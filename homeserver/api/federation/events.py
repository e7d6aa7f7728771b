"""Federation reads of a room's DAG: events, state, auth chains, history.

Spec: server-server-api.md "Retrieving events" (GET /event/{eventId},
/state/{roomId}, /state_ids/{roomId}), "Retrieving event authorisation
information" (GET /event_auth/{roomId}/{eventId}), "Backfilling and retrieving
missing events" (GET /backfill/{roomId}, POST /get_missing_events/{roomId}).
"""

from __future__ import annotations

from typing import Any

from homeserver.api.federation.bodies import GetMissingEventsBody
from homeserver.api.http.request import ApiRequest
from homeserver.errors import InvalidParam, MissingParam
from homeserver.federation.serving.reads import FederationReadService
from homeserver.federation.transport.room_auth import RoomRequestAuthenticator
from homeserver.types import JsonDict

V1 = "/_matrix/federation/v1"


class _ReadEndpoint:
    def __init__(
        self, authenticator: RoomRequestAuthenticator, reads: FederationReadService
    ) -> None:
        self.authenticator = authenticator
        self.reads = reads


class EventEndpoint(_ReadEndpoint):
    """GET /event/{eventId}."""

    PATTERNS = [f"{V1}/event/{{event_id}}"]

    async def on_GET(self, request: ApiRequest, event_id: str) -> JsonDict:
        origin = await self.authenticator.authenticate(request)
        return await self.reads.get_event(origin, event_id)


class StateEndpoint(_ReadEndpoint):
    """GET /state/{roomId}?event_id=."""

    PATTERNS = [f"{V1}/state/{{room_id}}"]
    IDS_ONLY = False

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        origin = await self.authenticator.authenticate_in_room(request, room_id)
        event_id = request.query_str("event_id", required=True)
        assert event_id is not None
        return await self.reads.get_state(origin, room_id, event_id, self.IDS_ONLY)


class StateIdsEndpoint(StateEndpoint):
    """GET /state_ids/{roomId}?event_id=."""

    PATTERNS = [f"{V1}/state_ids/{{room_id}}"]
    IDS_ONLY = True


class EventAuthEndpoint(_ReadEndpoint):
    """GET /event_auth/{roomId}/{eventId}."""

    PATTERNS = [f"{V1}/event_auth/{{room_id}}/{{event_id}}"]

    async def on_GET(
        self, request: ApiRequest, room_id: str, event_id: str
    ) -> JsonDict:
        origin = await self.authenticator.authenticate_in_room(request, room_id)
        return await self.reads.get_event_auth(origin, room_id, event_id)


class BackfillEndpoint(_ReadEndpoint):
    """GET /backfill/{roomId}?v=...&limit=."""

    PATTERNS = [f"{V1}/backfill/{{room_id}}"]

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        origin = await self.authenticator.authenticate_in_room(request, room_id)
        starts = request.query.get("v") or []
        limit = request.query_int("limit", 10)
        if limit is None or limit < 0:
            raise InvalidParam("limit must not be negative")
        if not starts:
            raise MissingParam("v")
        return await self.reads.backfill(origin, room_id, list(starts), limit)


class GetMissingEventsEndpoint(_ReadEndpoint):
    """POST /get_missing_events/{roomId}."""

    PATTERNS = [f"{V1}/get_missing_events/{{room_id}}"]

    async def on_POST(self, request: ApiRequest, room_id: str) -> JsonDict:
        origin = await self.authenticator.authenticate_in_room(request, room_id)
        body = request.parse(GetMissingEventsBody)
        return await self.reads.get_missing_events(
            origin,
            room_id,
            body.earliest_events,
            body.latest_events,
            body.limit,
            body.min_depth,
        )


def read_endpoints(
    authenticator: RoomRequestAuthenticator, reads: FederationReadService
) -> list[Any]:
    """Every endpoint of this module."""
    return [
        cls(authenticator, reads)
        for cls in (
            EventEndpoint,
            StateEndpoint,
            StateIdsEndpoint,
            EventAuthEndpoint,
            BackfillEndpoint,
            GetMissingEventsEndpoint,
        )
    ]
