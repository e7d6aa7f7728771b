"""Server-side key backups: backup versions and the keys in them.

Spec: client-server API, "Server-side key backups". Every keys endpoint needs
``?version=`` (400 M_MISSING_PARAM without it).
"""

from __future__ import annotations

from homeserver.api.client.bodies.key_backup import (
    BackupVersionBody,
    KeyBackupDataBody,
    RoomKeyBackupBody,
    RoomKeysBody,
    UpdateBackupVersionBody,
)
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.e2ee.key_backup import KeyBackupService
from homeserver.types import JsonDict


def _version_of(request: ApiRequest) -> str:
    """The ``version`` query parameter (400 M_MISSING_PARAM without it)."""
    return request.query_str("version", required=True) or ""


class BackupVersionsEndpoint:
    """POST /room_keys/version (create) and GET /room_keys/version (current)."""

    PATTERNS = client_patterns("/room_keys/version")

    def __init__(self, auth: Auth, backups: KeyBackupService) -> None:
        self.auth = auth
        self.backups = backups

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(BackupVersionBody)
        return await self.backups.create_version(
            requester, body.algorithm, body.auth_data
        )

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.backups.get_version(requester, None)


class BackupVersionEndpoint:
    """GET, PUT and DELETE /room_keys/version/{version}."""

    PATTERNS = client_patterns("/room_keys/version/{version}")

    def __init__(self, auth: Auth, backups: KeyBackupService) -> None:
        self.auth = auth
        self.backups = backups

    async def on_GET(self, request: ApiRequest, version: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.backups.get_version(requester, version)

    async def on_PUT(self, request: ApiRequest, version: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(UpdateBackupVersionBody)
        return await self.backups.update_version(
            requester, version, body.algorithm, body.auth_data, body.version
        )

    async def on_DELETE(self, request: ApiRequest, version: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.backups.delete_version(requester, version)


class BackupKeysEndpoint:
    """PUT, GET and DELETE /room_keys/keys: every room's keys."""

    PATTERNS = client_patterns("/room_keys/keys")

    def __init__(self, auth: Auth, backups: KeyBackupService) -> None:
        self.auth = auth
        self.backups = backups

    async def on_PUT(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        version = _version_of(request)
        body = request.parse(RoomKeysBody)
        keys = {room_id: room.sessions for room_id, room in body.rooms.items()}
        return await self.backups.upload_keys(requester, version, keys)

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.backups.get_all_keys(requester, _version_of(request))

    async def on_DELETE(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.backups.delete_keys(requester, _version_of(request))


class BackupRoomKeysEndpoint:
    """PUT, GET and DELETE /room_keys/keys/{roomId}: one room's keys."""

    PATTERNS = client_patterns("/room_keys/keys/{room_id}")

    def __init__(self, auth: Auth, backups: KeyBackupService) -> None:
        self.auth = auth
        self.backups = backups

    async def on_PUT(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        version = _version_of(request)
        body = request.parse(RoomKeyBackupBody)
        return await self.backups.upload_keys(
            requester, version, {room_id: body.sessions}
        )

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.backups.get_room_keys(
            requester, _version_of(request), room_id
        )

    async def on_DELETE(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.backups.delete_keys(requester, _version_of(request), room_id)


class BackupSessionKeyEndpoint:
    """PUT, GET and DELETE /room_keys/keys/{roomId}/{sessionId}: one key."""

    PATTERNS = client_patterns("/room_keys/keys/{room_id}/{session_id}")

    def __init__(self, auth: Auth, backups: KeyBackupService) -> None:
        self.auth = auth
        self.backups = backups

    async def on_PUT(
        self, request: ApiRequest, room_id: str, session_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        version = _version_of(request)
        body = request.parse(KeyBackupDataBody)
        return await self.backups.upload_keys(
            requester, version, {room_id: {session_id: body}}
        )

    async def on_GET(
        self, request: ApiRequest, room_id: str, session_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.backups.get_session_key(
            requester, _version_of(request), room_id, session_id
        )

    async def on_DELETE(
        self, request: ApiRequest, room_id: str, session_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.backups.delete_keys(
            requester, _version_of(request), room_id, session_id
        )
