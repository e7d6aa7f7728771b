"""Presence rows, and who shares a room with whom (presence's audience).

Spec: client-server API, "Presence". One ``user_presence`` row per user holds
the latest state and the "presence" stream position of its last notifiable
change. The audience queries read the membership index
(``current_state_events``): two users share a room when both are joined to it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import attrs

from homeserver.events.model import EventTypes, Membership
from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row


class PresenceState:
    """The ``presence`` values of the spec."""

    ONLINE = "online"
    UNAVAILABLE = "unavailable"
    OFFLINE = "offline"
    ALL = (ONLINE, UNAVAILABLE, OFFLINE)


@attrs.frozen
class UserPresence:
    """One user's presence.

    Attributes:
        state: online, unavailable or offline.
        last_active_ts: when the user last did something (ms; 0 = never).
        last_user_sync_ts: when a /sync (or socket) of theirs last ended (ms).
        currently_active: online and active within the last minute.
        stream_id: the presence stream position of the last notifiable change
            (0 = never written).
    """

    user_id: str
    state: str = PresenceState.OFFLINE
    status_msg: str | None = None
    last_active_ts: int = 0
    last_user_sync_ts: int = 0
    currently_active: bool = False
    stream_id: int = 0


_COLUMNS = (
    "user_id, state, status_msg, last_active_ts, last_user_sync_ts,"
    " currently_active, stream_id"
)
# Everyone joined to a room that (any of) the users in the outer query's
# ``mine.state_key`` condition is joined to. Uses the (state_key, membership)
# index for ``mine`` and the primary key for ``theirs``.
_CO_MEMBERS = (
    "SELECT theirs.state_key FROM current_state_events AS mine"
    " JOIN current_state_events AS theirs ON theirs.room_id = mine.room_id"
    " WHERE mine.type = ? AND mine.membership = ? AND {mine}"
    " AND theirs.type = ? AND theirs.membership = ?"
)


def _co_members_sql(mine: str) -> str:
    return _CO_MEMBERS.format(mine=mine)


def _co_members_args(*mine_args: Any) -> tuple[Any, ...]:
    member, join = EventTypes.MEMBER, Membership.JOIN
    return (member, join, *mine_args, member, join)


def _row(row: Row) -> UserPresence:
    return UserPresence(
        user_id=str(row.user_id),
        state=str(row.state),
        status_msg=row.status_msg,
        last_active_ts=int(row.last_active_ts),
        last_user_sync_ts=int(row.last_user_sync_ts),
        currently_active=bool(row.currently_active),
        stream_id=int(row.stream_id),
    )


class PresenceStore:
    """Reads and writes ``user_presence``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_presence(self, user_id: str) -> UserPresence | None:
        """The stored presence of one user, or None if never written."""
        row = await self.db.run_interaction(
            "get_presence",
            lambda txn: txn.query_one(
                f"SELECT {_COLUMNS} FROM user_presence WHERE user_id = ?", (user_id,)
            ),
        )
        return _row(row) if row else None

    async def get_presence_for_users(
        self, user_ids: Collection[str]
    ) -> dict[str, UserPresence]:
        """The stored presence of each user that has a row."""

        def txn_fn(txn: Transaction) -> dict[str, UserPresence]:
            return {
                row.user_id: _row(row)
                for row in txn.query_in(
                    f"SELECT {_COLUMNS} FROM user_presence WHERE user_id IN (?*)",
                    user_ids,
                )
            }

        return await self.db.run_interaction("get_presence_for_users", txn_fn)

    async def get_non_offline(self) -> list[UserPresence]:
        """Every user stored as online or unavailable (loaded at start-up)."""
        rows = await self.db.run_interaction(
            "get_non_offline_presence",
            lambda txn: txn.query(
                f"SELECT {_COLUMNS} FROM user_presence WHERE state <> ?",
                (PresenceState.OFFLINE,),
            ),
        )
        return [_row(r) for r in rows]

    async def upsert_presence(self, states: Iterable[UserPresence]) -> None:
        """Write each state, in one transaction.

        A row is only replaced by a state with a higher ``stream_id``, so writes
        that finish out of order (PostgreSQL's pool) never go back in time.
        """
        rows = [
            (
                s.user_id,
                s.state,
                s.status_msg,
                s.last_active_ts,
                s.last_user_sync_ts,
                s.currently_active,
                s.stream_id,
            )
            for s in states
        ]

        def txn_fn(txn: Transaction) -> None:
            txn.execute_many(
                f"INSERT INTO user_presence ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET state = excluded.state,"
                " status_msg = excluded.status_msg,"
                " last_active_ts = excluded.last_active_ts,"
                " last_user_sync_ts = excluded.last_user_sync_ts,"
                " currently_active = excluded.currently_active,"
                " stream_id = excluded.stream_id"
                " WHERE user_presence.stream_id < excluded.stream_id",
                rows,
            )

        await self.db.run_interaction("upsert_presence", txn_fn)

    async def get_changes_for_observer(
        self, observer: str, since: int | None, upto: int
    ) -> list[UserPresence]:
        """Presence of the observer and of everyone sharing a room with them.

        Args:
            since: only rows changed after this position; None for every row
                that is not offline (an initial sync).
            upto: only rows changed at or before this position.
        """
        position_args: list[Any]
        if since is not None:
            position_sql, position_args = "stream_id > ?", [since]
        else:
            position_sql, position_args = "state <> ?", [PresenceState.OFFLINE]
        co_members = _co_members_sql("mine.state_key = ?")
        sql = (
            f"SELECT {_COLUMNS} FROM user_presence"
            f" WHERE stream_id <= ? AND {position_sql}"
            f" AND (user_id = ? OR user_id IN ({co_members}))"
            " ORDER BY stream_id"
        )
        args = [upto, *position_args, observer, *_co_members_args(observer)]
        rows = await self.db.run_interaction(
            "get_presence_changes", lambda txn: txn.query(sql, args)
        )
        return [_row(r) for r in rows]

    async def get_users_sharing_a_room(self, user_ids: Collection[str]) -> set[str]:
        """Everyone joined to a room that one of ``user_ids`` is joined to."""

        def txn_fn(txn: Transaction) -> set[str]:
            return {
                row.state_key
                for row in txn.query_in(
                    _co_members_sql("mine.state_key IN (?*)"),
                    user_ids,
                    _co_members_args(),
                )
            }

        return await self.db.run_interaction("get_users_sharing_a_room", txn_fn)

    async def share_a_room(self, user_a: str, user_b: str) -> bool:
        """Whether both users are joined to at least one common room."""
        sql = _co_members_sql("mine.state_key = ?") + " AND theirs.state_key = ?"
        row = await self.db.run_interaction(
            "share_a_room",
            lambda txn: txn.query_one(
                sql + " LIMIT 1", (*_co_members_args(user_a), user_b)
            ),
        )
        return row is not None
