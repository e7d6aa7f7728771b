"""The legacy event stream: GET /events and GET /events/{eventId}.

Spec: client-server API, the deprecated "GET /events" and
"GET /events/{eventId}" (data/api/client-server/old_sync.yaml), which
Synapse still serves and older clients, bridges and test suites call.
"""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.extras.event_stream import EventStreamService
from homeserver.streams.tokens import StreamToken
from homeserver.types import JsonDict


class EventStreamEndpoint:
    """GET /events?from=&timeout=&room_id=."""

    PATTERNS = client_patterns("/events")

    def __init__(self, auth: Auth, stream: EventStreamService) -> None:
        self.auth = auth
        self.stream = stream

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        from_param = request.query_str("from")
        return await self.stream.get_stream(
            requester,
            StreamToken.parse(from_param, "from") if from_param else None,
            request.query_int("timeout"),
            request.query_str("room_id"),
        )


class EventEndpoint:
    """GET /events/{eventId}."""

    PATTERNS = client_patterns("/events/{event_id}")

    def __init__(self, auth: Auth, stream: EventStreamService) -> None:
        self.auth = auth
        self.stream = stream

    async def on_GET(self, request: ApiRequest, event_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.stream.get_event(requester, event_id)
