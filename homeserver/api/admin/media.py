"""Media admin API, at Synapse's paths (``docs/admin_api/media_admin_api.md``
and the media part of its user admin API), so that synadm works unchanged:
room media, media info, quarantine, protection, deletion and a user's media.
Request bodies (Synapse's tools send ``{}``) are ignored.
"""

from __future__ import annotations

from typing import Any

from homeserver.api.http.auth import admin_of
from homeserver.api.http.request import ApiRequest
from homeserver.services.accounts.auth import Auth
from homeserver.services.media.admin import MediaAdmin, MediaPage
from homeserver.services.media.admin_delete import MediaDeletion
from homeserver.types import JsonDict

ADMIN_V1 = "/_synapse/admin/v1"


def _page(request: ApiRequest) -> MediaPage:
    return MediaPage.parse(
        request.query_int("from"),
        request.query_int("limit"),
        request.query_str("order_by"),
        request.query_str("dir"),
    )


class _Endpoint:
    def __init__(self, auth: Auth, admin: MediaAdmin, deletion: MediaDeletion) -> None:
        self.auth = auth
        self.admin = admin
        self.deletion = deletion


class RoomMediaEndpoint(_Endpoint):
    """GET /_synapse/admin/v1/room/{roomId}/media."""

    PATTERNS = [f"{ADMIN_V1}/room/{{room_id}}/media"]

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.admin.room_media(room_id)


class QuarantineRoomMediaEndpoint(_Endpoint):
    """POST /_synapse/admin/v1/room/{roomId}/media/quarantine (and the
    deprecated /_synapse/admin/v1/quarantine_media/{roomId})."""

    PATTERNS = [
        f"{ADMIN_V1}/room/{{room_id}}/media/quarantine",
        f"{ADMIN_V1}/quarantine_media/{{room_id}}",
    ]

    async def on_POST(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await admin_of(self.auth, request)
        return await self.admin.quarantine_room(room_id, requester.user)


class QuarantineUserMediaEndpoint(_Endpoint):
    """POST /_synapse/admin/v1/user/{userId}/media/quarantine."""

    PATTERNS = [f"{ADMIN_V1}/user/{{user_id}}/media/quarantine"]

    async def on_POST(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await admin_of(self.auth, request)
        return await self.admin.quarantine_user(user_id, requester.user)


class QuarantineMediaEndpoint(_Endpoint):
    """POST /_synapse/admin/v1/media/quarantine/{serverName}/{mediaId}."""

    PATTERNS = [f"{ADMIN_V1}/media/quarantine/{{server_name}}/{{media_id}}"]

    async def on_POST(
        self, request: ApiRequest, server_name: str, media_id: str
    ) -> JsonDict:
        requester = await admin_of(self.auth, request)
        await self.admin.quarantine(server_name, media_id, requester.user)
        return {}


class UnquarantineMediaEndpoint(_Endpoint):
    """POST /_synapse/admin/v1/media/unquarantine/{serverName}/{mediaId}."""

    PATTERNS = [f"{ADMIN_V1}/media/unquarantine/{{server_name}}/{{media_id}}"]

    async def on_POST(
        self, request: ApiRequest, server_name: str, media_id: str
    ) -> JsonDict:
        await admin_of(self.auth, request)
        await self.admin.unquarantine(server_name, media_id)
        return {}


class ProtectMediaEndpoint(_Endpoint):
    """POST /_synapse/admin/v1/media/protect/{mediaId}."""

    PATTERNS = [f"{ADMIN_V1}/media/protect/{{media_id}}"]
    PROTECT = True

    async def on_POST(self, request: ApiRequest, media_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        await self.admin.set_protected(media_id, self.PROTECT)
        return {}


class UnprotectMediaEndpoint(ProtectMediaEndpoint):
    """POST /_synapse/admin/v1/media/unprotect/{mediaId}."""

    PATTERNS = [f"{ADMIN_V1}/media/unprotect/{{media_id}}"]
    PROTECT = False


class DeleteOldMediaEndpoint(_Endpoint):
    """POST /_synapse/admin/v1/media/delete?before_ts=&size_gt=&keep_profiles=
    (and the deprecated /_synapse/admin/v1/media/{serverName}/delete)."""

    PATTERNS = [
        f"{ADMIN_V1}/media/delete",
        f"{ADMIN_V1}/media/{{server_name}}/delete",
    ]

    async def on_POST(
        self, request: ApiRequest, server_name: str | None = None
    ) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.deletion.delete_old(
            request.query_int("before_ts"),
            request.query_int("size_gt"),
            request.query_bool("keep_profiles", True),
            server_name,
        )


class PurgeMediaCacheEndpoint(_Endpoint):
    """POST /_synapse/admin/v1/purge_media_cache?before_ts= (cached remote
    media)."""

    PATTERNS = [f"{ADMIN_V1}/purge_media_cache"]

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.admin.remote.purge(request.query_int("before_ts"))


class MediaEndpoint(_Endpoint):
    """GET (media info) and DELETE /_synapse/admin/v1/media/{serverName}/{mediaId}."""

    PATTERNS = [f"{ADMIN_V1}/media/{{server_name}}/{{media_id}}"]

    async def on_GET(
        self, request: ApiRequest, server_name: str, media_id: str
    ) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.admin.media_info(server_name, media_id)

    async def on_DELETE(
        self, request: ApiRequest, server_name: str, media_id: str
    ) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.deletion.delete_media(server_name, media_id)


class UserMediaEndpoint(_Endpoint):
    """GET and DELETE /_synapse/admin/v1/users/{userId}/media
    (``from``, ``limit``, ``order_by``, ``dir``)."""

    PATTERNS = [f"{ADMIN_V1}/users/{{user_id}}/media"]

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.admin.list_user_media(user_id, _page(request))

    async def on_DELETE(self, request: ApiRequest, user_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.deletion.delete_user_media(user_id, _page(request))


def media_admin_endpoints(
    auth: Auth, admin: MediaAdmin, deletion: MediaDeletion
) -> list[Any]:
    """Every media admin endpoint, the fixed paths before ``{serverName}``
    ones (``/media/protect/x`` before ``/media/{serverName}/delete``)."""
    return [
        cls(auth, admin, deletion)
        for cls in (
            RoomMediaEndpoint,
            QuarantineRoomMediaEndpoint,
            QuarantineUserMediaEndpoint,
            QuarantineMediaEndpoint,
            UnquarantineMediaEndpoint,
            ProtectMediaEndpoint,
            UnprotectMediaEndpoint,
            DeleteOldMediaEndpoint,
            PurgeMediaCacheEndpoint,
            MediaEndpoint,
            UserMediaEndpoint,
        )
    ]
