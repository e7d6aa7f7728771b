"""Account data and room tags.

Spec: client-server API, "Client Config" and "Room Tagging".
"""

from __future__ import annotations

from homeserver.api.client.bodies.sync_data import TagBody
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.sync_data.account_data import AccountDataService
from homeserver.services.sync_data.tags import TagService
from homeserver.types import JsonDict


class AccountDataEndpoint:
    """GET and PUT /user/{userId}/account_data/{type}."""

    PATTERNS = client_patterns("/user/{user_id}/account_data/{data_type}")

    def __init__(self, auth: Auth, account_data: AccountDataService) -> None:
        self.auth = auth
        self.account_data = account_data

    async def on_GET(
        self, request: ApiRequest, user_id: str, data_type: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.account_data.get_global(requester, user_id, data_type)

    async def on_PUT(
        self, request: ApiRequest, user_id: str, data_type: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.account_data.set_global(
            requester, user_id, data_type, request.json()
        )


class RoomAccountDataEndpoint:
    """GET and PUT /user/{userId}/rooms/{roomId}/account_data/{type}."""

    PATTERNS = client_patterns(
        "/user/{user_id}/rooms/{room_id}/account_data/{data_type}"
    )

    def __init__(self, auth: Auth, account_data: AccountDataService) -> None:
        self.auth = auth
        self.account_data = account_data

    async def on_GET(
        self, request: ApiRequest, user_id: str, room_id: str, data_type: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.account_data.get_room(requester, user_id, room_id, data_type)

    async def on_PUT(
        self, request: ApiRequest, user_id: str, room_id: str, data_type: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.account_data.set_room(
            requester, user_id, room_id, data_type, request.json()
        )


class TagsEndpoint:
    """GET /user/{userId}/rooms/{roomId}/tags."""

    PATTERNS = client_patterns("/user/{user_id}/rooms/{room_id}/tags")

    def __init__(self, auth: Auth, tags: TagService) -> None:
        self.auth = auth
        self.tags = tags

    async def on_GET(self, request: ApiRequest, user_id: str, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.tags.get_tags(requester, user_id, room_id)


class TagEndpoint:
    """PUT and DELETE /user/{userId}/rooms/{roomId}/tags/{tag}."""

    PATTERNS = client_patterns("/user/{user_id}/rooms/{room_id}/tags/{tag}")

    def __init__(self, auth: Auth, tags: TagService) -> None:
        self.auth = auth
        self.tags = tags

    async def on_PUT(
        self, request: ApiRequest, user_id: str, room_id: str, tag: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        # Some clients send no body for a tag without an order.
        request.parse(TagBody, allow_empty=True)
        # The tag's content is the body as sent, keys TagBody ignores included.
        return await self.tags.add_tag(
            requester, user_id, room_id, tag, request.json(allow_empty=True)
        )

    async def on_DELETE(
        self, request: ApiRequest, user_id: str, room_id: str, tag: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.tags.remove_tag(requester, user_id, room_id, tag)
