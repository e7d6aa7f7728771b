"""Room aliases and the public room directory."""

from __future__ import annotations

from homeserver.storage.database import Database


class DirectoryStore:
    """Reads and writes aliases and directory visibility."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_alias(self, alias: str) -> tuple[str, str] | None:
        """The (room_id, creator) an alias points at."""
        row = await self.db.run_interaction(
            "get_alias",
            lambda txn: txn.query_one(
                "SELECT room_id, creator FROM room_aliases WHERE room_alias = ?", (alias,)
            ),
        )
        return (str(row[0]), str(row[1])) if row else None

    async def insert_alias(self, alias: str, room_id: str, creator: str, now_ms: int) -> bool:
        """Create an alias; False if it exists."""
        try:
            await self.db.run_interaction(
                "insert_alias",
                lambda txn: txn.execute(
                    "INSERT INTO room_aliases (room_alias, room_id, creator, created_ts)"
                    " VALUES (?, ?, ?, ?)",
                    (alias, room_id, creator, now_ms),
                ),
            )
        except self.db.IntegrityError:
            return False
        return True

    async def delete_alias(self, alias: str) -> None:
        """Remove an alias."""
        await self.db.run_interaction(
            "delete_alias",
            lambda txn: txn.execute("DELETE FROM room_aliases WHERE room_alias = ?", (alias,)),
        )

    async def get_aliases_for_room(self, room_id: str) -> list[str]:
        """Local aliases of a room."""
        rows = await self.db.run_interaction(
            "get_aliases_for_room",
            lambda txn: txn.query(
                "SELECT room_alias FROM room_aliases WHERE room_id = ? ORDER BY room_alias",
                (room_id,),
            ),
        )
        return [r[0] for r in rows]

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
            lambda txn: txn.query_one("SELECT is_public FROM rooms WHERE room_id = ?", (room_id,)),
        )
        return bool(row[0]) if row else None

    async def get_public_room_ids(self) -> list[str]:
        """Every published room."""
        rows = await self.db.run_interaction(
            "get_public_room_ids",
            lambda txn: txn.query(
                "SELECT room_id FROM rooms WHERE is_public = ? ORDER BY room_id", (True,)
            ),
        )
        return [r[0] for r in rows]
