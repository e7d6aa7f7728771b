"""User directory search and mutual rooms.

Spec: client-server API, "User directory" (POST /user_directory/search) and
"Mutual rooms" (GET /_matrix/client/v1/mutual_rooms, MSC2666).
"""

from __future__ import annotations

from homeserver.api.client.bodies.user_directory import UserDirectorySearchBody
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.errors import InvalidParam
from homeserver.services.accounts.auth import Auth
from homeserver.services.user_directory.mutual_rooms import MutualRoomsService
from homeserver.services.user_directory.search import UserDirectoryService
from homeserver.types import JsonDict

MSC2666_PREFIX = "/_matrix/client/unstable/uk.half-shot.msc2666"


class UserDirectorySearchEndpoint:
    """POST /user_directory/search."""

    PATTERNS = client_patterns("/user_directory/search")

    def __init__(self, auth: Auth, directory: UserDirectoryService) -> None:
        self.auth = auth
        self.directory = directory

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(UserDirectorySearchBody)
        return await self.directory.search(requester, body.search_term, body.limit)


class MutualRoomsEndpoint:
    """GET /_matrix/client/v1/mutual_rooms (v1.19), the unstable MSC2666
    path Element calls, and /v1/user/mutual_rooms."""

    PATTERNS = [
        *client_patterns("/mutual_rooms", r0=False, v3=False, v1=True),
        *client_patterns("/user/mutual_rooms", r0=False, v3=False, v1=True),
        f"{MSC2666_PREFIX}/user/mutual_rooms",
    ]

    def __init__(self, auth: Auth, mutual_rooms: MutualRoomsService) -> None:
        self.auth = auth
        self.mutual_rooms = mutual_rooms

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        for name in ("user_id", "from", "batch_token"):
            if len(request.query.get(name, [])) > 1:
                raise InvalidParam(f"Duplicate {name} query parameter")
        user_id = request.query_str("user_id", required=True) or ""
        # Older matrix-js-sdk (the MSC's first revision) pages with
        # batch_token / next_batch_token.
        from_token = request.query_str("from") or request.query_str("batch_token")
        body = await self.mutual_rooms.mutual_rooms(requester, user_id, from_token)
        if request.path.startswith(MSC2666_PREFIX) and "next_batch" in body:
            body["next_batch_token"] = body["next_batch"]
        return body
