"""The user directory: who a user search may find, and the profiles it shows.

Local users are read from ``users`` and ``profiles`` (so a profile change is
searchable at once); other servers' users from ``user_directory_remote``,
kept from their member events. Visibility is read from the current state:
a user is findable by a searcher who shares a joined room with them, or when
they are joined to a room in ``user_directory_public_rooms``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from homeserver.events.model import EventTypes, Membership
from homeserver.storage import like
from homeserver.storage.database import Database, Transaction

# Local accounts (not deactivated, not guests) and known remote users.
_CANDIDATES = """
SELECT u.user_id, p.displayname AS display_name, p.avatar_url, 1 AS is_local
FROM users u LEFT JOIN profiles p ON p.user_id = u.user_id
WHERE u.deactivated = ? AND u.is_guest = ?
UNION ALL
SELECT user_id, display_name, avatar_url, 0 AS is_local FROM user_directory_remote
"""

# A candidate is visible to the searcher: joined to a public room, or to a
# room the searcher is joined to.
_VISIBLE = """
EXISTS (
    SELECT 1 FROM current_state_events m
    WHERE m.type = ? AND m.membership = ? AND m.state_key = d.user_id AND (
        m.room_id IN (SELECT room_id FROM user_directory_public_rooms)
        OR m.room_id IN (
            SELECT s.room_id FROM current_state_events s
            WHERE s.type = ? AND s.state_key = ? AND s.membership = ?)))
"""


@attrs.frozen
class DirectoryEntry:
    """A user a search found."""

    user_id: str
    display_name: str | None
    avatar_url: str | None
    local: bool


class UserDirectoryStore:
    """The user directory's tables and its search query."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(
        self, searcher: str, words: Sequence[str], *, all_local: bool, cap: int
    ) -> list[DirectoryEntry]:
        """Users the searcher may find whose user ID or display name contains
        every one of ``words`` (lower case); at most ``cap`` of them, in no
        particular order (the service ranks them).

        Args:
            searcher: who searches.
            words: what each result must contain, in its user ID or name.
            all_local: every local user is findable (``search_all_users``).
            cap: the most candidates to return.
        """
        where: list[str] = []
        args: list[Any] = [False, False]
        for word in words:
            pattern = f"%{like.literal(word)}%"
            where.append(
                "(LOWER(d.user_id) LIKE ? ESCAPE '\\'"
                " OR LOWER(COALESCE(d.display_name, '')) LIKE ? ESCAPE '\\')"
            )
            args += [pattern, pattern]
        visible = _VISIBLE
        if all_local:
            visible = f"(d.is_local = 1 OR {_VISIBLE})"
        args += [EventTypes.MEMBER, Membership.JOIN]
        args += [EventTypes.MEMBER, searcher, Membership.JOIN, cap]
        sql = (
            f"SELECT d.user_id, d.display_name, d.avatar_url, d.is_local"
            f" FROM ({_CANDIDATES}) d WHERE {' AND '.join([*where, visible])}"
            " LIMIT ?"
        )
        rows = await self.db.run_interaction(
            "user_directory_search", lambda txn: txn.query(sql, args)
        )
        return [
            DirectoryEntry(
                r.user_id, r.display_name, r.avatar_url, bool(int(r.is_local))
            )
            for r in rows
        ]

    async def upsert_remote_users(
        self, users: Iterable[tuple[str, str | None, str | None]]
    ) -> None:
        """(user ID, display name, avatar URL) of other servers' users, from
        their latest join."""
        rows = sorted(set(users))
        if not rows:
            return
        await self.db.run_interaction(
            "user_directory_upsert_remote",
            lambda txn: txn.execute_many(
                "INSERT INTO user_directory_remote (user_id, display_name, avatar_url)"
                " VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
                " display_name = excluded.display_name,"
                " avatar_url = excluded.avatar_url",
                rows,
            ),
        )

    async def set_room_public(self, room_id: str, public: bool) -> None:
        """Whether anyone may find the room's members."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "DELETE FROM user_directory_public_rooms WHERE room_id = ?", (room_id,)
            )
            if public:
                txn.execute(
                    "INSERT INTO user_directory_public_rooms (room_id) VALUES (?)",
                    (room_id,),
                )

        await self.db.run_interaction("user_directory_set_room_public", txn_fn)

    async def get_mutual_rooms(self, user_id: str, other: str) -> list[str]:
        """The rooms both users are joined to, by room ID."""
        rows = await self.db.run_interaction(
            "mutual_rooms",
            lambda txn: txn.query(
                "SELECT a.room_id FROM current_state_events a"
                " JOIN current_state_events b ON b.room_id = a.room_id"
                " WHERE a.type = ? AND a.state_key = ? AND a.membership = ?"
                " AND b.type = ? AND b.state_key = ? AND b.membership = ?"
                " ORDER BY a.room_id",
                (
                    EventTypes.MEMBER,
                    user_id,
                    Membership.JOIN,
                    EventTypes.MEMBER,
                    other,
                    Membership.JOIN,
                ),
            ),
        )
        return [r.room_id for r in rows]
