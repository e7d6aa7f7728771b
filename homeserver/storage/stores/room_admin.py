"""What the room admin API reads about rooms: each room's summary (name,
alias, member counts and the state that describes it), its members, and the
block list (migration 0036)."""

from __future__ import annotations

import json
from typing import Any

import attrs

from homeserver.events.model import EventTypes, Membership
from homeserver.storage.database import Database, Transaction

# The state (state_key "") a summary shows, and the content key of each.
_SUMMARY_STATE = {
    EventTypes.NAME: "name",
    EventTypes.CANONICAL_ALIAS: "alias",
    EventTypes.TOPIC: "topic",
    EventTypes.AVATAR: "url",
    EventTypes.JOIN_RULES: "join_rule",
    EventTypes.GUEST_ACCESS: "guest_access",
    EventTypes.HISTORY_VISIBILITY: "history_visibility",
    EventTypes.ENCRYPTION: "algorithm",
}


@attrs.frozen(kw_only=True)
class RoomSummary:
    """One room as the room admin API shows it."""

    room_id: str
    version: str
    creator: str | None
    public: bool
    created_ts: int
    state: dict[str, Any]  # event type -> the value of its key above
    create_content: dict[str, Any]
    joined_members: int
    joined_local_members: int
    state_events: int

    def value(self, event_type: str) -> Any:
        """The summarised value of one state event, or None."""
        return self.state.get(event_type)


@attrs.frozen(kw_only=True)
class UserEventsQuery:
    """Which of a user's events to find in a room."""

    user_id: str
    types: list[str]
    limit: int
    before_ts: int | None = None
    after_ts: int | None = None


@attrs.frozen(kw_only=True)
class BlockedRoom:
    """Who blocked a room, and when."""

    user_id: str
    blocked_ts: int


def _state_values(txn: Transaction, room_id: str | None) -> dict[str, dict]:
    where = " AND c.room_id = ?" if room_id else ""
    types = list(_SUMMARY_STATE) + [EventTypes.CREATE]
    marks = ", ".join("?" for _ in types)
    rows = txn.query(
        "SELECT c.room_id, c.type, e.json FROM current_state_events c"
        " JOIN events e ON e.event_id = c.event_id"
        f" WHERE c.state_key = '' AND c.type IN ({marks}){where}",
        [*types, *([room_id] if room_id else [])],
    )
    found: dict[str, dict] = {}
    for row in rows:
        content = json.loads(row.json).get("content")
        found.setdefault(row.room_id, {})[row.type] = (
            content if isinstance(content, dict) else {}
        )
    return found


def summaries_txn(
    txn: Transaction, server_name: str, room_id: str | None = None
) -> list[RoomSummary]:
    """Every room's summary (or one room's, if ``room_id``)."""
    where = " WHERE r.room_id = ?" if room_id else ""
    args = [room_id] if room_id else []
    rooms = txn.query(
        "SELECT r.room_id, r.room_version, r.creator, r.is_public, r.created_ts,"
        " COUNT(c.event_id) AS state_events,"
        " SUM(CASE WHEN c.membership = ? THEN 1 ELSE 0 END) AS joined,"
        " SUM(CASE WHEN c.membership = ? AND c.state_key LIKE ? THEN 1 ELSE 0 END)"
        " AS joined_local"
        " FROM rooms r LEFT JOIN current_state_events c ON c.room_id = r.room_id"
        f"{where} GROUP BY r.room_id, r.room_version, r.creator, r.is_public,"
        " r.created_ts",
        [Membership.JOIN, Membership.JOIN, f"%:{server_name}", *args],
    )
    contents = _state_values(txn, room_id)
    summaries = []
    for row in rooms:
        state = contents.get(row.room_id, {})
        create = state.pop(EventTypes.CREATE, {})
        summaries.append(
            RoomSummary(
                room_id=row.room_id,
                version=row.room_version,
                creator=row.creator,
                public=bool(row.is_public),
                created_ts=row.created_ts,
                state={t: c.get(_SUMMARY_STATE[t]) for t, c in state.items()},
                create_content=create,
                joined_members=int(row.joined or 0),
                joined_local_members=int(row.joined_local or 0),
                state_events=int(row.state_events or 0),
            )
        )
    return summaries


class RoomAdminStore:
    """Room summaries, members and the block list for server admins."""

    def __init__(self, db: Database, server_name: str) -> None:
        self.db = db
        self.server_name = server_name

    async def get_summaries(self) -> list[RoomSummary]:
        """Every room this server knows, summarised."""
        return await self.db.run_interaction(
            "room_admin_summaries", summaries_txn, self.server_name
        )

    async def get_summary(self, room_id: str) -> RoomSummary | None:
        """One room's summary, or None if the server does not know it."""
        found = await self.db.run_interaction(
            "room_admin_summary", summaries_txn, self.server_name, room_id
        )
        return found[0] if found else None

    async def get_local_details(self, room_id: str) -> tuple[int, bool]:
        """(devices of the room's joined local users, whether every local
        user who was in the room has forgotten it)."""

        def txn_fn(txn: Transaction) -> tuple[int, bool]:
            local = f"%:{self.server_name}"
            devices = txn.query_one(
                "SELECT COUNT(*) AS n FROM devices d JOIN current_state_events c"
                " ON c.state_key = d.user_id WHERE c.room_id = ? AND c.type = ?"
                " AND c.membership = ? AND c.state_key LIKE ?",
                (room_id, EventTypes.MEMBER, Membership.JOIN, local),
            )
            counts = txn.query_one(
                "SELECT COUNT(*) AS n,"
                " SUM(CASE WHEN forgotten THEN 0 ELSE 1 END) AS remembered"
                " FROM room_memberships WHERE room_id = ? AND user_id LIKE ?",
                (room_id, local),
            )
            seen = int(counts.n) if counts else 0
            remembered = int(counts.remembered or 0) if counts else 0
            return int(devices.n) if devices else 0, seen > 0 and remembered == 0

        return await self.db.run_interaction("room_admin_local", txn_fn)

    async def get_joined_members(self, room_id: str) -> list[str]:
        """The room's joined members, sorted."""
        rows = await self.db.run_interaction(
            "room_admin_members",
            lambda txn: txn.query(
                "SELECT state_key FROM current_state_events WHERE room_id = ?"
                " AND type = ? AND membership = ? ORDER BY state_key",
                (room_id, EventTypes.MEMBER, Membership.JOIN),
            ),
        )
        return [r.state_key for r in rows]

    async def get_block(self, room_id: str) -> BlockedRoom | None:
        """Who blocked the room, or None if it is not blocked."""
        row = await self.db.run_interaction(
            "get_room_block",
            lambda txn: txn.query_one(
                "SELECT user_id, blocked_ts FROM blocked_rooms WHERE room_id = ?",
                (room_id,),
            ),
        )
        return (
            BlockedRoom(user_id=row.user_id, blocked_ts=row.blocked_ts) if row else None
        )

    async def is_blocked(self, room_id: str) -> bool:
        """Whether local users are kept out of the room."""
        return await self.get_block(room_id) is not None

    async def set_block(self, room_id: str, user_id: str, now_ms: int) -> None:
        """Block the room (keeping the first blocker if already blocked)."""
        await self.db.run_interaction(
            "block_room",
            lambda txn: txn.execute(
                "INSERT INTO blocked_rooms (room_id, user_id, blocked_ts)"
                " VALUES (?, ?, ?) ON CONFLICT (room_id) DO NOTHING",
                (room_id, user_id, now_ms),
            ),
        )

    async def delete_block(self, room_id: str) -> None:
        """Unblock the room."""
        await self.db.run_interaction(
            "unblock_room",
            lambda txn: txn.execute(
                "DELETE FROM blocked_rooms WHERE room_id = ?", (room_id,)
            ),
        )

    async def get_rooms_of_user(self, user_id: str) -> list[str]:
        """Every room the user ever had a membership in."""
        rows = await self.db.run_interaction(
            "rooms_of_user",
            lambda txn: txn.query(
                "SELECT DISTINCT room_id FROM room_memberships WHERE user_id = ?"
                " ORDER BY room_id",
                (user_id,),
            ),
        )
        return [r.room_id for r in rows]

    async def get_events_of_user(
        self, query: UserEventsQuery, room_id: str
    ) -> list[str]:
        """The user's unredacted timeline events of the given types in a
        room, newest first."""
        clauses = ["room_id = ?", "sender = ?", "redacted_by IS NULL", "outlier = ?"]
        args: list[object] = [room_id, query.user_id, False]
        if query.before_ts is not None:
            clauses.append("origin_server_ts <= ?")
            args.append(query.before_ts)
        if query.after_ts is not None:
            clauses.append("origin_server_ts >= ?")
            args.append(query.after_ts)
        marks = ", ".join("?" for _ in query.types)
        clauses.append(f"type IN ({marks})")
        args += query.types
        sql = (
            "SELECT event_id FROM events WHERE "
            + " AND ".join(clauses)
            + " ORDER BY stream_ordering DESC LIMIT ?"
        )
        rows = await self.db.run_interaction(
            "events_of_user", lambda txn: txn.query(sql, [*args, query.limit])
        )
        return [r.event_id for r in rows]

    async def get_forward_extremities(self, room_id: str) -> list[dict[str, Any]]:
        """The room's forward extremities: event ID, state group, depth."""
        rows = await self.db.run_interaction(
            "admin_forward_extremities",
            lambda txn: txn.query(
                "SELECT f.event_id, g.state_group, e.depth"
                " FROM event_forward_extremities f"
                " JOIN events e ON e.event_id = f.event_id"
                " LEFT JOIN event_to_state_group g ON g.event_id = f.event_id"
                " WHERE f.room_id = ? ORDER BY e.depth DESC, f.event_id",
                (room_id,),
            ),
        )
        return [
            {
                "event_id": r.event_id,
                "state_group": r.state_group,
                "depth": int(r.depth),
                # Chatly does not record when an event arrived.
                "received_ts": None,
            }
            for r in rows
        ]
