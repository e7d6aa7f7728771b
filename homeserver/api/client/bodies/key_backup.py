"""Bodies of the server-side key backup endpoints.

Spec: client-server API, "Server-side key backups" (``key_backup.yaml``,
``definitions/key_backup_data.yaml``, ``definitions/room_key_backup.yaml``).
Whether the keys of ``rooms`` and ``sessions`` are room and session IDs, and
what ``auth_data`` must hold for an algorithm, is the service's to say.
"""

from __future__ import annotations

from homeserver.api.http.body import (
    JsonObject,
    NonEmptyStr,
    NonNegativeInt,
    Omittable,
    RequestBody,
    Str,
)


class BackupVersionBody(RequestBody):
    """POST /room_keys/version."""

    algorithm: NonEmptyStr
    auth_data: JsonObject


class UpdateBackupVersionBody(BackupVersionBody):
    """PUT /room_keys/version/{version}: ``version``, when given, must be the
    one in the path."""

    version: Omittable[Str] = None


class KeyBackupDataBody(RequestBody):
    """PUT /room_keys/keys/{roomId}/{sessionId}: one session's key."""

    first_message_index: NonNegativeInt
    forwarded_count: NonNegativeInt
    is_verified: bool
    session_data: JsonObject


class RoomKeyBackupBody(RequestBody):
    """PUT /room_keys/keys/{roomId}: session ID -> key."""

    sessions: dict[Str, KeyBackupDataBody]


class RoomKeysBody(RequestBody):
    """PUT /room_keys/keys: room ID -> that room's keys."""

    rooms: dict[Str, RoomKeyBackupBody]
