"""Queries the sliding-sync room list needs: a user's rooms with their
membership, rooms' latest activity, their type, encryption and space children."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

import attrs

from homeserver.events.model import EventTypes
from homeserver.storage.database import Database, Transaction, in_list

# The event types that count as activity for the recency order (Synapse's
# DEFAULT_BUMP_EVENT_TYPES).
BUMP_TYPES = (
    "m.room.create",
    "m.room.message",
    "m.room.encrypted",
    "m.sticker",
    "m.call.invite",
    "m.poll.start",
    "m.beacon_info",
)


@attrs.frozen
class UserRoom:
    """A room the user has a membership in."""

    room_id: str
    membership: str
    stream_ordering: int
    sender: str


@attrs.frozen
class MemberOverview:
    """A room's member counts and heroes."""

    joined: int
    invited: int
    heroes: list[str]


class SlidingSyncStore:
    """Read-only queries for the sliding-sync room list."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_user_rooms(self, user_id: str) -> list[UserRoom]:
        """Every room where the user has a current membership, forgotten ones
        left out."""

        def txn_fn(txn: Transaction) -> list[UserRoom]:
            rows = txn.query(
                "SELECT c.room_id, c.membership, m.stream_ordering, m.sender"
                " FROM current_state_events c"
                " JOIN room_memberships m ON m.event_id = c.event_id"
                " WHERE c.type = ? AND c.state_key = ? AND m.forgotten = ?"
                # A ban of someone who never joined is not the user's room.
                " AND (c.membership <> ? OR EXISTS (SELECT 1 FROM room_memberships j"
                " WHERE j.room_id = c.room_id AND j.user_id = c.state_key"
                " AND j.membership = ?))",
                (EventTypes.MEMBER, user_id, False, "ban", "join"),
            )
            return [
                UserRoom(r.room_id, r.membership, r.stream_ordering, r.sender)
                for r in rows
            ]

        return await self.db.run_interaction("ss_user_rooms", txn_fn)

    async def get_bump_stamps(self, room_ids: Collection[str]) -> dict[str, int]:
        """Each room's last activity (stream ordering of its last event of a
        bump type); rooms without any are left out."""

        def txn_fn(txn: Transaction) -> dict[str, int]:
            rows = txn.query_in(
                "SELECT room_id, MAX(stream_ordering) AS pos FROM events"
                f" WHERE type IN {in_list(BUMP_TYPES)} AND outlier = ?"
                " AND rejected_reason IS NULL AND room_id IN (?*) GROUP BY room_id",
                room_ids,
                (*BUMP_TYPES, False),
            )
            return {r.room_id: int(r.pos) for r in rows if r.pos is not None}

        return await self.db.run_interaction("ss_bump_stamps", txn_fn)

    async def get_last_positions(self, room_ids: Collection[str]) -> dict[str, int]:
        """Each room's last event position (the fallback order)."""

        def txn_fn(txn: Transaction) -> dict[str, int]:
            rows = txn.query_in(
                "SELECT room_id, MAX(stream_ordering) AS pos FROM events"
                " WHERE outlier = ? AND room_id IN (?*) GROUP BY room_id",
                room_ids,
                (False,),
            )
            return {r.room_id: int(r.pos) for r in rows if r.pos is not None}

        return await self.db.run_interaction("ss_last_positions", txn_fn)

    async def get_room_facts(
        self, room_ids: Collection[str]
    ) -> dict[str, tuple[str | None, bool]]:
        """Each room's (create ``type``, encrypted) from its current state;
        rooms whose state the server lacks are left out."""

        def txn_fn(txn: Transaction) -> dict[str, tuple[str | None, bool]]:
            rows = txn.query_in(
                "SELECT c.room_id, c.type, e.json FROM current_state_events c"
                " JOIN events e ON e.event_id = c.event_id"
                " WHERE c.state_key = ? AND c.type IN (?, ?) AND c.room_id IN (?*)",
                room_ids,
                ("", EventTypes.CREATE, "m.room.encryption"),
            )
            out: dict[str, tuple[str | None, bool]] = {}
            for r in rows:
                room_type, encrypted = out.get(r.room_id, (None, False))
                if r.type == EventTypes.CREATE:
                    value = json.loads(r.json).get("content", {}).get("type")
                    room_type = value if isinstance(value, str) else None
                else:
                    encrypted = True
                out[r.room_id] = (room_type, encrypted)
            return out

        return await self.db.run_interaction("ss_room_facts", txn_fn)

    async def get_space_children(self, space_ids: Collection[str]) -> set[str]:
        """The room IDs named by current ``m.space.child`` events (with a
        ``via``) of the spaces."""

        def txn_fn(txn: Transaction) -> set[str]:
            rows = txn.query_in(
                "SELECT c.state_key, e.json FROM current_state_events c"
                " JOIN events e ON e.event_id = c.event_id"
                " WHERE c.type = ? AND c.room_id IN (?*)",
                space_ids,
                ("m.space.child",),
            )
            return {
                r.state_key
                for r in rows
                if json.loads(r.json).get("content", {}).get("via")
            }

        return await self.db.run_interaction("ss_space_children", txn_fn)

    async def get_events_at(
        self, room_id: str, positions: Collection[int]
    ) -> dict[int, str]:
        """The room's last non-outlier event at or before each position
        (positions before the room's first event are left out)."""
        found = await self.get_events_at_many({room_id: positions})
        return {position: event_id for (_, position), event_id in found.items()}

    async def get_events_at_many(
        self, positions: Mapping[str, Collection[int]]
    ) -> dict[tuple[str, int], str]:
        """``get_events_at`` for several rooms in one transaction, keyed by
        (room ID, position)."""

        def txn_fn(txn: Transaction) -> dict[tuple[str, int], str]:
            out = {}
            for room_id, wanted in positions.items():
                for position in set(wanted):
                    row = txn.query_one(
                        "SELECT event_id FROM events WHERE room_id = ?"
                        " AND outlier = ? AND stream_ordering <= ?"
                        " ORDER BY stream_ordering DESC LIMIT 1",
                        (room_id, False, position),
                    )
                    if row is not None:
                        out[(room_id, position)] = str(row.event_id)
            return out

        return await self.db.run_interaction("ss_events_at", txn_fn)

    async def get_member_overview(
        self, room_id: str, user_id: str, heroes: int
    ) -> MemberOverview:
        """The room's member counts and its heroes for ``user_id``: the first
        ``heroes`` other joined or invited members by when they got that
        membership, else the first who left or were banned (the spec's
        ``m.heroes``, in Synapse's order)."""
        found = await self.get_member_overviews([room_id], user_id, heroes)
        return found[room_id]

    async def get_member_overviews(
        self, room_ids: Collection[str], user_id: str, heroes: int
    ) -> dict[str, MemberOverview]:
        """``get_member_overview`` of several rooms in one transaction."""

        def txn_fn(txn: Transaction) -> dict[str, MemberOverview]:
            return {r: _overview_txn(txn, r, user_id, heroes) for r in room_ids}

        return await self.db.run_interaction("ss_member_overview", txn_fn)


def _overview_txn(
    txn: Transaction, room_id: str, user_id: str, heroes: int
) -> MemberOverview:
    counts = {
        str(r.membership): int(r.n)
        for r in txn.query(
            "SELECT membership, COUNT(*) AS n FROM current_state_events"
            " WHERE room_id = ? AND type = ? GROUP BY membership",
            (room_id, EventTypes.MEMBER),
        )
    }
    found: list[str] = []
    for memberships in (("join", "invite"), ("leave", "ban")):
        rows = txn.query(
            "SELECT c.state_key FROM current_state_events c"
            " JOIN events e ON e.event_id = c.event_id"
            " WHERE c.room_id = ? AND c.type = ? AND c.state_key <> ?"
            " AND c.membership IN (?, ?)"
            " ORDER BY CASE c.membership WHEN ? THEN 1 ELSE 2 END,"
            " e.stream_ordering LIMIT ?",
            (
                room_id,
                EventTypes.MEMBER,
                user_id,
                *memberships,
                memberships[0],
                heroes,
            ),
        )
        found = [str(r.state_key) for r in rows]
        if found:
            break
    return MemberOverview(counts.get("join", 0), counts.get("invite", 0), found)
