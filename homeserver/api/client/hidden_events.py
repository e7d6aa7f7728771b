"""Delete for me: a Chatly extension under ``/_chatly/client/v1/``.

See docs/extensions/delete-for-me.md. PUT/DELETE
``/rooms/{roomId}/hidden/{eventId}`` hide and unhide an event for the
requesting user; GET ``/rooms/{roomId}/hidden`` and GET ``/hidden`` list
what they have hidden.
"""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.services.accounts.auth import Auth
from homeserver.services.reading.hidden_events import HiddenEventsService
from homeserver.types import JsonDict

PREFIX = "/_chatly/client/v1"


class HiddenEventEndpoint:
    """PUT and DELETE /_chatly/client/v1/rooms/{roomId}/hidden/{eventId}."""

    PATTERNS = [PREFIX + "/rooms/{room_id}/hidden/{event_id}"]

    def __init__(self, auth: Auth, hidden: HiddenEventsService) -> None:
        self.auth = auth
        self.hidden = hidden

    async def on_PUT(
        self, request: ApiRequest, room_id: str, event_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.hidden.hide(requester, room_id, event_id)

    async def on_DELETE(
        self, request: ApiRequest, room_id: str, event_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.hidden.unhide(requester, room_id, event_id)


class RoomHiddenEventsEndpoint:
    """GET /_chatly/client/v1/rooms/{roomId}/hidden."""

    PATTERNS = [PREFIX + "/rooms/{room_id}/hidden"]

    def __init__(self, auth: Auth, hidden: HiddenEventsService) -> None:
        self.auth = auth
        self.hidden = hidden

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.hidden.list_room(
            requester, room_id, request.query_str("from"), request.query_int("limit")
        )


class HiddenEventsEndpoint:
    """GET /_chatly/client/v1/hidden."""

    PATTERNS = [PREFIX + "/hidden"]

    def __init__(self, auth: Auth, hidden: HiddenEventsService) -> None:
        self.auth = auth
        self.hidden = hidden

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.hidden.list_all(
            requester, request.query_str("from"), request.query_int("limit")
        )
