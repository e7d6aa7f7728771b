"""Sending messages and state, and redacting.

Spec: client-server API, "Sending events to a room", "Redactions".
"""

from __future__ import annotations

from homeserver.api.client.bodies.rooms import RedactBody
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.rooms.room_events import RoomEventService
from homeserver.types import JsonDict


class SendEventEndpoint:
    """PUT /rooms/{roomId}/send/{eventType}/{txnId}."""

    PATTERNS = client_patterns("/rooms/{room_id}/send/{event_type}/{txn_id}")

    def __init__(self, auth: Auth, room_events: RoomEventService) -> None:
        self.auth = auth
        self.room_events = room_events

    async def on_PUT(
        self, request: ApiRequest, room_id: str, event_type: str, txn_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        return await self.room_events.send_message(
            requester,
            room_id,
            event_type,
            txn_id,
            request.json(),
            ts=request.query_int("ts"),
        )


class SendEventNoTxnEndpoint:
    """POST /rooms/{roomId}/send/{eventType}: the legacy form without a
    transaction ID that Synapse still serves; each call sends a new event."""

    PATTERNS = client_patterns("/rooms/{room_id}/send/{event_type}")

    def __init__(self, auth: Auth, room_events: RoomEventService) -> None:
        self.auth = auth
        self.room_events = room_events

    async def on_POST(
        self, request: ApiRequest, room_id: str, event_type: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        return await self.room_events.send_message(
            requester, room_id, event_type, None, request.json()
        )


class SetStateEndpoint:
    """PUT /rooms/{roomId}/state/{eventType}[/{stateKey}]."""

    PATTERNS = (
        client_patterns("/rooms/{room_id}/state/{event_type}")
        + client_patterns("/rooms/{room_id}/state/{event_type}/")
        + client_patterns("/rooms/{room_id}/state/{event_type}/{state_key}")
    )

    def __init__(self, auth: Auth, room_events: RoomEventService) -> None:
        self.auth = auth
        self.room_events = room_events

    async def on_PUT(
        self, request: ApiRequest, room_id: str, event_type: str, state_key: str = ""
    ) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        return await self.room_events.set_state(
            requester,
            room_id,
            event_type,
            state_key,
            request.json(),
            ts=request.query_int("ts"),
        )


class RedactEndpoint:
    """PUT /rooms/{roomId}/redact/{eventId}/{txnId}."""

    PATTERNS = client_patterns("/rooms/{room_id}/redact/{event_id}/{txn_id}")

    def __init__(self, auth: Auth, room_events: RoomEventService) -> None:
        self.auth = auth
        self.room_events = room_events

    async def on_PUT(
        self, request: ApiRequest, room_id: str, event_id: str, txn_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(RedactBody, allow_empty=True)
        return await self.room_events.redact(
            requester, room_id, event_id, txn_id, body.reason
        )


class RedactNoTxnEndpoint:
    """POST /rooms/{roomId}/redact/{eventId}: the legacy form without a
    transaction ID that Synapse still serves."""

    PATTERNS = client_patterns("/rooms/{room_id}/redact/{event_id}")

    def __init__(self, auth: Auth, room_events: RoomEventService) -> None:
        self.auth = auth
        self.room_events = room_events

    async def on_POST(
        self, request: ApiRequest, room_id: str, event_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(RedactBody, allow_empty=True)
        return await self.room_events.redact(
            requester, room_id, event_id, None, body.reason
        )
