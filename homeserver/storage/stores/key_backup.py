"""Server-side key backups: a user's backup versions and the session keys in them.

Every write is one transaction that also checks the version it writes to, so
keys never land in a version that was deleted or superseded meanwhile. On
PostgreSQL two such transactions that touch the same rows conflict (the
version row's etag, a session's row, a new version number) and one of them is
retried as a serialisation failure; SQLite runs them one after the other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row
from homeserver.types import JsonDict


@attrs.frozen
class RoomKey:
    """One backed-up Megolm session key (the spec's ``KeyBackupData``)."""

    first_message_index: int
    forwarded_count: int
    is_verified: bool
    session_data: JsonDict
    """The client's encrypted key, opaque to the server."""

    def to_json(self) -> JsonDict:
        """The key as the API shows it."""
        return {
            "first_message_index": self.first_message_index,
            "forwarded_count": self.forwarded_count,
            "is_verified": self.is_verified,
            "session_data": self.session_data,
        }


@attrs.frozen
class BackupVersion:
    """One (not deleted) backup version and the state of its keys."""

    version: int
    algorithm: str
    auth_data: JsonDict
    etag: int
    """Counts the changes to the version's keys."""
    count: int
    """How many keys the version holds."""


@attrs.frozen
class BackupKeysState:
    """A version's keys after a write: its etag and how many there are."""

    etag: int
    count: int


class UnknownBackupVersion(Exception):
    """The user has no such backup version, or it was deleted."""


class NotCurrentBackupVersion(Exception):
    """Keys can only be written to the current version, and this is another."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the current backup version is {current}")
        self.current = current


RoomKeys = Mapping[str, Mapping[str, RoomKey]]
"""Keys by room ID, then session ID."""
ReplaceRule = Callable[[RoomKey, RoomKey], bool]
"""Given the stored key and an uploaded one of the same session, whether the
uploaded one replaces it."""

_KEY_COLUMNS = (
    "room_id, session_id, first_message_index, forwarded_count, is_verified,"
    " session_data"
)


def _room_key(row: Row) -> RoomKey:
    return RoomKey(
        first_message_index=int(row.first_message_index),
        forwarded_count=int(row.forwarded_count),
        # SQLite answers 0 or 1.
        is_verified=bool(row.is_verified),
        session_data=json.loads(row.session_data),
    )


def _key_values(
    user_id: str, version: int, room_id: str, session_id: str, key: RoomKey
) -> tuple[str | int | bool, ...]:
    """A key's row in key_backup_sessions, in the order of its columns."""
    return (
        user_id,
        version,
        room_id,
        session_id,
        key.first_message_index,
        key.forwarded_count,
        key.is_verified,
        json.dumps(key.session_data),
    )


def _current_version_txn(txn: Transaction, user_id: str) -> int | None:
    row = txn.query_one(
        "SELECT MAX(version) AS version FROM key_backup_versions"
        " WHERE user_id = ? AND deleted = ?",
        (user_id, False),
    )
    return None if row is None or row.version is None else int(row.version)


def _live_version_txn(txn: Transaction, user_id: str, version: int) -> Row | None:
    return txn.query_one(
        "SELECT algorithm, auth_data, etag FROM key_backup_versions"
        " WHERE user_id = ? AND version = ? AND deleted = ?",
        (user_id, version, False),
    )


def _count_txn(txn: Transaction, user_id: str, version: int) -> int:
    row = txn.query_one(
        "SELECT COUNT(*) AS n FROM key_backup_sessions"
        " WHERE user_id = ? AND version = ?",
        (user_id, version),
    )
    return int(row.n) if row else 0


def _bump_etag_txn(txn: Transaction, user_id: str, version: int) -> None:
    txn.execute(
        "UPDATE key_backup_versions SET etag = etag + 1"
        " WHERE user_id = ? AND version = ?",
        (user_id, version),
    )


def _key_filter(
    user_id: str, version: int, room_id: str | None, session_id: str | None
) -> tuple[str, tuple[str | int, ...]]:
    """The WHERE clause (and its arguments) of the keys of a version, of one
    room, or of one session."""
    where = "user_id = ? AND version = ?"
    args: tuple[str | int, ...] = (user_id, version)
    if room_id is not None:
        where += " AND room_id = ?"
        args += (room_id,)
        if session_id is not None:
            where += " AND session_id = ?"
            args += (session_id,)
    return where, args


def _stored_keys_txn(
    txn: Transaction, user_id: str, version: int, keys: RoomKeys
) -> dict[tuple[str, str], RoomKey]:
    """The stored keys of the sessions in ``keys``, by (room, session)."""
    found: dict[tuple[str, str], RoomKey] = {}
    for room_id, sessions in keys.items():
        rows = txn.query_in(
            f"SELECT {_KEY_COLUMNS} FROM key_backup_sessions"
            " WHERE user_id = ? AND version = ? AND room_id = ?"
            " AND session_id IN (?*)",
            list(sessions),
            (user_id, version, room_id),
        )
        for row in rows:
            found[(str(row.room_id), str(row.session_id))] = _room_key(row)
    return found


class KeyBackupStore:
    """Reads and writes backup versions and their keys.

    Args:
        db: the database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_version(
        self, user_id: str, algorithm: str, auth_data: JsonDict
    ) -> int:
        """Create a backup version, which becomes the current one.

        Returns:
            Its version number: one more than any the user ever had.
        """

        def create_txn(txn: Transaction) -> int:
            row = txn.query_one(
                "SELECT MAX(version) AS version FROM key_backup_versions"
                " WHERE user_id = ?",
                (user_id,),
            )
            version = 1 if row is None or row.version is None else row.version + 1
            # Two creations at once pick the same number. ON CONFLICT makes the
            # later one a serialisation failure on PostgreSQL (retried, so it
            # picks the next number) rather than a unique violation.
            txn.execute(
                "INSERT INTO key_backup_versions"
                " (user_id, version, algorithm, auth_data) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id, version) DO NOTHING",
                (user_id, version, algorithm, json.dumps(auth_data)),
            )
            return int(version)

        return await self.db.run_interaction("create_key_backup_version", create_txn)

    async def get_version(
        self, user_id: str, version: int | None
    ) -> BackupVersion | None:
        """A backup version (``None``: the current one), or None if there is
        no such version or it was deleted."""

        def get_txn(txn: Transaction) -> BackupVersion | None:
            number = _current_version_txn(txn, user_id) if version is None else version
            if number is None:
                return None
            row = _live_version_txn(txn, user_id, number)
            if row is None:
                return None
            return BackupVersion(
                version=number,
                algorithm=str(row.algorithm),
                auth_data=json.loads(row.auth_data),
                etag=int(row.etag),
                count=_count_txn(txn, user_id, number),
            )

        return await self.db.run_interaction("get_key_backup_version", get_txn)

    async def update_auth_data(
        self, user_id: str, version: int, algorithm: str, auth_data: JsonDict
    ) -> str | None:
        """Replace a version's ``auth_data`` if its algorithm is ``algorithm``.

        Returns:
            The version's algorithm (when it is not ``algorithm``, nothing was
            written), or None if there is no such version or it was deleted.
        """

        def update_txn(txn: Transaction) -> str | None:
            row = _live_version_txn(txn, user_id, version)
            if row is None or row.algorithm != algorithm:
                return None if row is None else str(row.algorithm)
            txn.execute(
                "UPDATE key_backup_versions SET auth_data = ?"
                " WHERE user_id = ? AND version = ?",
                (json.dumps(auth_data), user_id, version),
            )
            return algorithm

        return await self.db.run_interaction("update_key_backup_version", update_txn)

    async def delete_version(self, user_id: str, version: int) -> bool:
        """Delete a version and its keys (a deleted version stays deleted).

        Returns:
            False if the user never had this version.
        """

        def delete_txn(txn: Transaction) -> bool:
            if not txn.query_one(
                "SELECT 1 FROM key_backup_versions WHERE user_id = ? AND version = ?",
                (user_id, version),
            ):
                return False
            txn.execute(
                "DELETE FROM key_backup_sessions WHERE user_id = ? AND version = ?",
                (user_id, version),
            )
            txn.execute(
                "UPDATE key_backup_versions SET deleted = ?"
                " WHERE user_id = ? AND version = ?",
                (True, user_id, version),
            )
            return True

        return await self.db.run_interaction("delete_key_backup_version", delete_txn)

    async def upload_keys(
        self, user_id: str, version: int, keys: RoomKeys, replace: ReplaceRule
    ) -> BackupKeysState:
        """Store keys in the current version: a session's first key, or one
        that ``replace`` prefers to the stored one. The etag moves if any key
        was written.

        Raises:
            UnknownBackupVersion: no such version, or it was deleted.
            NotCurrentBackupVersion: it exists but is not the current one.
        """

        def upload_txn(txn: Transaction) -> BackupKeysState:
            current = _current_version_txn(txn, user_id)
            row = _live_version_txn(txn, user_id, version)
            if row is None or current is None:
                raise UnknownBackupVersion(version)
            if current != version:
                raise NotCurrentBackupVersion(current)
            stored = _stored_keys_txn(txn, user_id, version, keys)
            writes = [
                _key_values(user_id, version, room_id, session_id, key)
                for room_id, sessions in keys.items()
                for session_id, key in sessions.items()
                if (old := stored.get((room_id, session_id))) is None
                or replace(old, key)
            ]
            etag = int(row.etag)
            if writes:
                txn.execute_many(
                    "INSERT INTO key_backup_sessions (user_id, version, room_id,"
                    " session_id, first_message_index, forwarded_count,"
                    " is_verified, session_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (user_id, version, room_id, session_id) DO UPDATE"
                    " SET first_message_index = excluded.first_message_index,"
                    " forwarded_count = excluded.forwarded_count,"
                    " is_verified = excluded.is_verified,"
                    " session_data = excluded.session_data",
                    writes,
                )
                _bump_etag_txn(txn, user_id, version)
                etag += 1
            return BackupKeysState(etag=etag, count=_count_txn(txn, user_id, version))

        return await self.db.run_interaction("upload_backup_keys", upload_txn)

    async def get_keys(
        self,
        user_id: str,
        version: int,
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> dict[str, dict[str, RoomKey]] | None:
        """A version's keys (of one room, or one session of it), by room ID
        then session ID; None if there is no such version or it was deleted."""

        def get_txn(txn: Transaction) -> dict[str, dict[str, RoomKey]] | None:
            if _live_version_txn(txn, user_id, version) is None:
                return None
            where, args = _key_filter(user_id, version, room_id, session_id)
            rows = txn.query(
                f"SELECT {_KEY_COLUMNS} FROM key_backup_sessions WHERE {where}"
                " ORDER BY room_id, session_id",
                args,
            )
            found: dict[str, dict[str, RoomKey]] = {}
            for row in rows:
                room = found.setdefault(str(row.room_id), {})
                room[str(row.session_id)] = _room_key(row)
            return found

        return await self.db.run_interaction("get_backup_keys", get_txn)

    async def delete_keys(
        self,
        user_id: str,
        version: int,
        room_id: str | None = None,
        session_id: str | None = None,
    ) -> BackupKeysState | None:
        """Delete a version's keys (of one room, or one session of it); the
        etag moves if any was deleted. None if there is no such version or it
        was deleted."""

        def delete_txn(txn: Transaction) -> BackupKeysState | None:
            row = _live_version_txn(txn, user_id, version)
            if row is None:
                return None
            where, args = _key_filter(user_id, version, room_id, session_id)
            txn.execute(f"DELETE FROM key_backup_sessions WHERE {where}", args)
            etag = int(row.etag)
            if txn.rowcount > 0:
                _bump_etag_txn(txn, user_id, version)
                etag += 1
            return BackupKeysState(etag=etag, count=_count_txn(txn, user_id, version))

        return await self.db.run_interaction("delete_backup_keys", delete_txn)
