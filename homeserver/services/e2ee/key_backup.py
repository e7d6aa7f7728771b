"""Server-side key backups: a user's backup versions and the room keys in them.

Spec: client-server API, "Server-side key backups" (v1.19). The keys are
encrypted by the client; the server keeps them, with the three numbers that
decide which of two uploads of one Megolm session it keeps (``should_replace``).

- Versions are numbers counting up per user, never reused; the current version
  is the newest one not deleted, and keys are written only to it (403
  ``M_WRONG_ROOM_KEYS_VERSION`` with ``current_version`` for an older one that
  still exists, 404 for one that does not, or was deleted, as Synapse answers).
- The ``etag`` of a version moves whenever its keys change (a key stored,
  replaced or deleted), and only then.
- ``algorithm`` may be any string, as in Synapse (clients try unstable
  algorithms before the spec names them); for the one the spec defines,
  ``auth_data`` must carry its ``public_key``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from homeserver.errors import Codes, InvalidParam, MatrixError, NotFound
from homeserver.services.accounts.auth import Requester
from homeserver.storage.stores.key_backup import (
    BackupKeysState,
    BackupVersion,
    KeyBackupStore,
    NotCurrentBackupVersion,
    RoomKey,
    UnknownBackupVersion,
)
from homeserver.types import JsonDict

MEGOLM_BACKUP_V1 = "m.megolm_backup.v1.curve25519-aes-sha2"
# Room IDs are at most 255 bytes (spec, "Room IDs"); session IDs (43
# characters for Megolm) get the same bound.
MAX_ID_BYTES = 255
# The versions we hand out: decimal, no leading zero, within a BIGINT.
_VERSION = re.compile(r"[1-9][0-9]{0,17}")

UNKNOWN_VERSION = "Unknown backup version"


class WrongRoomKeysVersion(MatrixError):
    """403 M_WRONG_ROOM_KEYS_VERSION: keys go to the current version only."""

    def __init__(self, current_version: str) -> None:
        super().__init__(
            403,
            "Wrong backup version.",
            Codes.WRONG_ROOM_KEYS_VERSION,
            additional={"current_version": current_version},
        )


class BackedUpKey(Protocol):
    """One uploaded session key (``KeyBackupDataBody`` of
    ``api/client/bodies/key_backup.py``, which has checked every type)."""

    @property
    def first_message_index(self) -> int: ...
    @property
    def forwarded_count(self) -> int: ...
    @property
    def is_verified(self) -> bool: ...
    @property
    def session_data(self) -> dict[str, Any]: ...


UploadedKeys = Mapping[str, Mapping[str, BackedUpKey]]
"""Uploaded keys by room ID, then session ID."""


def should_replace(stored: RoomKey, uploaded: RoomKey) -> bool:
    """Whether an uploaded key of a session replaces the stored one (spec:
    the verified key wins; then the lower ``first_message_index``; then the
    lower ``forwarded_count``; on a tie the stored key stays).

    Synapse lets a lower ``first_message_index`` replace a verified key with
    an unverified one; the spec does not, and neither do we.
    """
    if uploaded.is_verified != stored.is_verified:
        return uploaded.is_verified
    if uploaded.first_message_index != stored.first_message_index:
        return uploaded.first_message_index < stored.first_message_index
    return uploaded.forwarded_count < stored.forwarded_count


def _version_number(version: str) -> int | None:
    """The number a version string names, or None if it names none we could
    have handed out (so it is unknown)."""
    return int(version) if _VERSION.fullmatch(version) else None


def _check_auth_data(algorithm: str, auth_data: JsonDict) -> None:
    """The spec's ``auth_data`` for ``m.megolm_backup.v1.curve25519-aes-sha2``
    holds the backup's ``public_key`` (definitions/key_backup_auth_data)."""
    if algorithm != MEGOLM_BACKUP_V1:
        return
    public_key = auth_data.get("public_key")
    if public_key is None:
        raise MatrixError(
            400, "auth_data.public_key: missing required field", Codes.MISSING_PARAM
        )
    if not isinstance(public_key, str) or not public_key:
        raise MatrixError(
            400, "auth_data.public_key: must be a non-empty string", Codes.BAD_JSON
        )


def _check_ids(room_id: str, session_id: str) -> None:
    if not room_id.startswith("!") or len(room_id.encode()) > MAX_ID_BYTES:
        raise InvalidParam(f"{room_id[:60]!r} is not a valid room ID")
    if not session_id or len(session_id.encode()) > MAX_ID_BYTES:
        raise InvalidParam(
            f"Session IDs must be 1 to {MAX_ID_BYTES} bytes long (in {room_id})"
        )


def _version_json(info: BackupVersion) -> JsonDict:
    return {
        "algorithm": info.algorithm,
        "auth_data": info.auth_data,
        "count": info.count,
        "etag": str(info.etag),
        "version": str(info.version),
    }


def _state_json(state: BackupKeysState) -> JsonDict:
    return {"etag": str(state.etag), "count": state.count}


class KeyBackupService:
    """Creates, reads, updates and deletes a user's backups and their keys.

    Every method acts on the requester's own backups: there is no way to name
    another user's.
    """

    def __init__(self, store: KeyBackupStore) -> None:
        self.store = store

    # -- versions ---------------------------------------------------------

    async def create_version(
        self, requester: Requester, algorithm: str, auth_data: JsonDict
    ) -> JsonDict:
        """POST /room_keys/version: a new backup, which becomes the current one."""
        _check_auth_data(algorithm, auth_data)
        version = await self.store.create_version(
            requester.user_id, algorithm, auth_data
        )
        return {"version": str(version)}

    async def get_version(self, requester: Requester, version: str | None) -> JsonDict:
        """GET /room_keys/version[/{version}]: a backup (None: the current one).

        Raises:
            NotFound: 404 when there is no current backup, or no such version.
        """
        number = None if version is None else _version_number(version)
        info = None
        if version is None or number is not None:
            info = await self.store.get_version(requester.user_id, number)
        if info is None:
            raise NotFound(
                "No current backup version" if version is None else UNKNOWN_VERSION
            )
        return _version_json(info)

    async def update_version(
        self,
        requester: Requester,
        version: str,
        algorithm: str,
        auth_data: JsonDict,
        body_version: str | None,
    ) -> JsonDict:
        """PUT /room_keys/version/{version}: replace a backup's ``auth_data``.

        Args:
            requester: whose backup.
            version: the version in the path.
            algorithm: must be the backup's algorithm.
            auth_data: the new ``auth_data``.
            body_version: the body's ``version``, which must be ``version``
                when given.

        Raises:
            MatrixError: 400 M_INVALID_PARAM when the version or the algorithm
                does not match; 404 for an unknown version.
        """
        if body_version is not None and body_version != version:
            raise InvalidParam("Version in body does not match")
        _check_auth_data(algorithm, auth_data)
        number = _version_number(version)
        stored = None
        if number is not None:
            stored = await self.store.update_auth_data(
                requester.user_id, number, algorithm, auth_data
            )
        if stored is None:
            raise NotFound(UNKNOWN_VERSION)
        if stored != algorithm:
            raise InvalidParam("Algorithm does not match")
        return {}

    async def delete_version(self, requester: Requester, version: str) -> JsonDict:
        """DELETE /room_keys/version/{version}: the backup and all its keys.

        Deleting a version already deleted succeeds, as the spec asks.

        Raises:
            NotFound: 404 for a version the user never had.
        """
        number = _version_number(version)
        if number is None or not await self.store.delete_version(
            requester.user_id, number
        ):
            raise NotFound(UNKNOWN_VERSION)
        return {}

    # -- keys -------------------------------------------------------------

    async def upload_keys(
        self, requester: Requester, version: str, keys: UploadedKeys
    ) -> JsonDict:
        """PUT /room_keys/keys[/{roomId}[/{sessionId}]]: store keys in the
        current backup, each session's key kept or replaced by
        ``should_replace``; all or nothing.

        Returns:
            The backup's ``etag`` and ``count`` afterwards.

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a malformed room or session
                ID; 403 M_WRONG_ROOM_KEYS_VERSION for a version that is not
                the current one; 404 for an unknown or deleted version.
        """
        room_keys: dict[str, dict[str, RoomKey]] = {}
        for room_id, sessions in keys.items():
            for session_id, key in sessions.items():
                _check_ids(room_id, session_id)
                room_keys.setdefault(room_id, {})[session_id] = RoomKey(
                    first_message_index=key.first_message_index,
                    forwarded_count=key.forwarded_count,
                    is_verified=key.is_verified,
                    session_data=key.session_data,
                )
        number = _version_number(version)
        if number is None:
            raise NotFound(UNKNOWN_VERSION)
        try:
            state = await self.store.upload_keys(
                requester.user_id, number, room_keys, should_replace
            )
        except UnknownBackupVersion:
            raise NotFound(UNKNOWN_VERSION) from None
        except NotCurrentBackupVersion as exc:
            raise WrongRoomKeysVersion(str(exc.current)) from None
        return _state_json(state)

    async def get_all_keys(self, requester: Requester, version: str) -> JsonDict:
        """GET /room_keys/keys: ``{"rooms": {room: {"sessions": ...}}}``."""
        rooms = await self._get_keys(requester, version, None, None)
        return {
            "rooms": {
                room_id: {"sessions": _sessions_json(sessions)}
                for room_id, sessions in rooms.items()
            }
        }

    async def get_room_keys(
        self, requester: Requester, version: str, room_id: str
    ) -> JsonDict:
        """GET /room_keys/keys/{roomId}: ``{"sessions": ...}``, empty when the
        backup has no key of the room."""
        rooms = await self._get_keys(requester, version, room_id, None)
        return {"sessions": _sessions_json(rooms.get(room_id, {}))}

    async def get_session_key(
        self, requester: Requester, version: str, room_id: str, session_id: str
    ) -> JsonDict:
        """GET /room_keys/keys/{roomId}/{sessionId}: the key.

        Raises:
            NotFound: 404 for an unknown version, or a session with no key.
        """
        rooms = await self._get_keys(requester, version, room_id, session_id)
        key = rooms.get(room_id, {}).get(session_id)
        if key is None:
            raise NotFound("Key not found")
        return key.to_json()

    async def delete_keys(
        self,
        requester: Requester,
        version: str,
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> JsonDict:
        """DELETE /room_keys/keys[/{roomId}[/{sessionId}]] of any existing
        version (not only the current one, as in Synapse).

        Returns:
            The backup's ``etag`` and ``count`` afterwards.

        Raises:
            NotFound: 404 for an unknown or deleted version.
        """
        number = _version_number(version)
        state = None
        if number is not None:
            state = await self.store.delete_keys(
                requester.user_id, number, room_id, session_id
            )
        if state is None:
            raise NotFound(UNKNOWN_VERSION)
        return _state_json(state)

    async def _get_keys(
        self,
        requester: Requester,
        version: str,
        room_id: str | None,
        session_id: str | None,
    ) -> dict[str, dict[str, RoomKey]]:
        number = _version_number(version)
        rooms = None
        if number is not None:
            rooms = await self.store.get_keys(
                requester.user_id, number, room_id, session_id
            )
        if rooms is None:
            raise NotFound(UNKNOWN_VERSION)
        return rooms


def _sessions_json(sessions: Mapping[str, RoomKey]) -> JsonDict:
    return {session_id: key.to_json() for session_id, key in sessions.items()}
