"""Which room is each user's server notices room."""

from __future__ import annotations

from homeserver.storage.database import Database, Transaction


class ServerNoticesStore:
    """Maps a local user to the room the server notices user talks to them in."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_room(self, user_id: str) -> str | None:
        """The user's notices room, if one was ever made."""
        row = await self.db.run_interaction(
            "get_server_notices_room",
            lambda txn: txn.query_one(
                "SELECT room_id FROM server_notices_rooms WHERE user_id = ?",
                (user_id,),
            ),
        )
        return str(row.room_id) if row else None

    async def upsert_room(self, user_id: str, room_id: str) -> None:
        """Record (or replace) the user's notices room."""

        def upsert_txn(txn: Transaction) -> None:
            txn.execute(
                "DELETE FROM server_notices_rooms WHERE user_id = ?", (user_id,)
            )
            txn.execute(
                "INSERT INTO server_notices_rooms (user_id, room_id) VALUES (?, ?)",
                (user_id, room_id),
            )

        await self.db.run_interaction("upsert_server_notices_room", upsert_txn)
