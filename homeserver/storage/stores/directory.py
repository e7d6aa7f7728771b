"""Room aliases and the published room directory."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from homeserver.events.model import EventTypes, Membership
from homeserver.storage.database import Database, Transaction, in_list

_AS_LIST = "appservice_room_list"
# ``get_published_rooms``: the server's directory and every AS's network.
ALL_NETWORKS = "*"
# None, ALL_NETWORKS, or (appservice_id, network_id).
Network = str | tuple[str, str] | None


@attrs.frozen
class AliasMapping:
    """Where an alias points, and who made it."""

    room_id: str
    creator: str


@attrs.frozen
class PublishedRoom:
    """A published room as the directory lists it.

    Args:
        room_id: the room.
        joined_members: how many users are joined now.
        state_ids: event type -> event ID of the room's current state with an
            empty state key, for the event types asked for.
    """

    room_id: str
    joined_members: int
    state_ids: dict[str, str]


class DirectoryStore:
    """Reads and writes aliases and directory visibility."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_alias(self, alias: str) -> tuple[str, str] | None:
        """The (room_id, creator) an alias points at."""
        mapping = await self.get_alias_mapping(alias)
        return (mapping.room_id, mapping.creator) if mapping else None

    async def get_alias_mapping(self, alias: str) -> AliasMapping | None:
        """The room an alias points at and its creator, or None."""
        row = await self.db.run_interaction(
            "get_alias",
            lambda txn: txn.query_one(
                "SELECT room_id, creator FROM room_aliases WHERE room_alias = ?",
                (alias,),
            ),
        )
        return AliasMapping(str(row.room_id), str(row.creator)) if row else None

    async def insert_alias(
        self, alias: str, room_id: str, creator: str, now_ms: int
    ) -> bool:
        """Create an alias; False if it exists."""

        def txn_fn(txn: Transaction) -> bool:
            # Checked first so that PostgreSQL needs no failed statement (which
            # would abort the transaction); the primary key still guards races.
            if txn.query_one(
                "SELECT 1 FROM room_aliases WHERE room_alias = ?", (alias,)
            ):
                return False
            txn.execute(
                "INSERT INTO room_aliases (room_alias, room_id, creator, created_ts)"
                " VALUES (?, ?, ?, ?)",
                (alias, room_id, creator, now_ms),
            )
            return True

        try:
            return await self.db.run_interaction("insert_alias", txn_fn)
        except self.db.IntegrityError:
            return False

    async def delete_alias(self, alias: str) -> str | None:
        """Remove an alias; returns the room it pointed at, or None if none."""

        def txn_fn(txn: Transaction) -> str | None:
            row = txn.query_one(
                "SELECT room_id FROM room_aliases WHERE room_alias = ?", (alias,)
            )
            if row is None:
                return None
            txn.execute("DELETE FROM room_aliases WHERE room_alias = ?", (alias,))
            return str(row.room_id)

        return await self.db.run_interaction("delete_alias", txn_fn)

    async def get_aliases_for_room(self, room_id: str) -> list[str]:
        """Local aliases of a room."""
        rows = await self.db.run_interaction(
            "get_aliases_for_room",
            lambda txn: txn.query(
                "SELECT room_alias FROM room_aliases WHERE room_id = ? ORDER BY room_alias",
                (room_id,),
            ),
        )
        return [r.room_alias for r in rows]

    async def move_aliases(self, old_room_id: str, new_room_id: str) -> None:
        """Point every alias of ``old_room_id`` at ``new_room_id`` (room upgrades)."""
        await self.db.run_interaction(
            "move_aliases",
            lambda txn: txn.execute(
                "UPDATE room_aliases SET room_id = ? WHERE room_id = ?",
                (new_room_id, old_room_id),
            ),
        )

    async def set_room_public(self, room_id: str, public: bool) -> None:
        """Publish or unpublish a room in the directory."""
        await self.db.run_interaction(
            "set_room_public",
            lambda txn: txn.execute(
                "UPDATE rooms SET is_public = ? WHERE room_id = ?", (public, room_id)
            ),
        )

    async def is_room_public(self, room_id: str) -> bool | None:
        """Whether a room is published; None if the room is unknown."""
        row = await self.db.run_interaction(
            "is_room_public",
            lambda txn: txn.query_one(
                "SELECT is_public FROM rooms WHERE room_id = ?", (room_id,)
            ),
        )
        return bool(row.is_public) if row else None

    async def get_public_room_ids(self) -> list[str]:
        """Every published room."""
        rows = await self.db.run_interaction(
            "get_public_room_ids",
            lambda txn: txn.query(
                "SELECT room_id FROM rooms WHERE is_public = ? ORDER BY room_id",
                (True,),
            ),
        )
        return [r.room_id for r in rows]

    async def get_published_rooms(
        self, state_types: Sequence[str], network: Network = None
    ) -> list[PublishedRoom]:
        """Every published room with its joined-member count and some current state.

        One transaction: the published rooms with their member counts, then the
        current state events of ``state_types`` (with an empty state key) of all
        of them at once.

        Args:
            state_types: the state to fetch of each room.
            network: None: the server's own directory; ``(appservice_id,
                network_id)``: that network's list; ``ALL_NETWORKS``: both.
        """
        params: tuple[object, ...]
        if network is None:
            where, params = "r.is_public = ?", (True,)
        elif network == ALL_NETWORKS:
            where = (
                f"(r.is_public = ? OR r.room_id IN (SELECT room_id FROM {_AS_LIST}))"
            )
            params = (True,)
        else:
            where = (
                f"r.room_id IN (SELECT room_id FROM {_AS_LIST}"
                " WHERE appservice_id = ? AND network_id = ?)"
            )
            params = tuple(network)

        def txn_fn(txn: Transaction) -> list[PublishedRoom]:
            counts = txn.query(
                "SELECT r.room_id, COUNT(c.state_key) AS members FROM rooms r"
                " LEFT JOIN current_state_events c ON c.room_id = r.room_id"
                " AND c.type = ? AND c.membership = ?"
                f" WHERE {where} GROUP BY r.room_id",
                (EventTypes.MEMBER, Membership.JOIN, *params),
            )
            rooms = {
                str(row.room_id): PublishedRoom(str(row.room_id), int(row.members), {})
                for row in counts
            }
            if not rooms or not state_types:
                return list(rooms.values())
            for row in txn.query(
                "SELECT c.room_id, c.type, c.event_id FROM rooms r"
                " JOIN current_state_events c ON c.room_id = r.room_id"
                f" WHERE {where} AND c.state_key = ?"
                f" AND c.type IN {in_list(state_types)}",
                (*params, "", *state_types),
            ):
                if row.room_id in rooms:
                    rooms[row.room_id].state_ids[row.type] = row.event_id
            return list(rooms.values())

        return await self.db.run_interaction("get_published_rooms", txn_fn)

    async def set_appservice_room_listed(
        self, appservice_id: str, network_id: str, room_id: str, listed: bool
    ) -> None:
        """Add a room to (or remove it from) an application service's list."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                f"DELETE FROM {_AS_LIST} WHERE appservice_id = ? AND network_id = ?"
                " AND room_id = ?",
                (appservice_id, network_id, room_id),
            )
            if listed:
                txn.execute(
                    f"INSERT INTO {_AS_LIST} (appservice_id, network_id, room_id)"
                    " VALUES (?, ?, ?)",
                    (appservice_id, network_id, room_id),
                )

        await self.db.run_interaction("set_appservice_room_listed", txn_fn)
