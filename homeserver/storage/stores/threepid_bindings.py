"""Where users bound their third-party IDs on identity servers (table
``user_threepid_bindings``, migration 0034)."""

from __future__ import annotations

from homeserver.storage.database import Database, Transaction
from homeserver.storage.stores.threepids import normalise_address


class ThreepidBindingStore:
    """Reads and writes ``user_threepid_bindings``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_binding(
        self, user_id: str, medium: str, address: str, id_server: str
    ) -> None:
        """Remember that ``address`` of ``user_id`` is bound on ``id_server``
        (no error if it was known)."""
        address = normalise_address(medium, address)

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "INSERT INTO user_threepid_bindings"
                " (user_id, medium, address, id_server) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id, medium, address, id_server) DO NOTHING",
                (user_id, medium, address, id_server),
            )

        await self.db.run_interaction("insert_threepid_binding", txn_fn)

    async def get_id_servers(
        self, user_id: str, medium: str, address: str
    ) -> list[str]:
        """The identity servers ``address`` of ``user_id`` was bound on."""
        rows = await self.db.run_interaction(
            "get_threepid_binding_servers",
            lambda txn: txn.query(
                "SELECT id_server FROM user_threepid_bindings"
                " WHERE user_id = ? AND medium = ? AND address = ?"
                " ORDER BY id_server",
                (user_id, medium, normalise_address(medium, address)),
            ),
        )
        return [row.id_server for row in rows]

    async def get_bound_threepids(self, user_id: str) -> list[tuple[str, str]]:
        """The (medium, address) pairs ``user_id`` bound anywhere."""
        rows = await self.db.run_interaction(
            "get_bound_threepids",
            lambda txn: txn.query(
                "SELECT DISTINCT medium, address FROM user_threepid_bindings"
                " WHERE user_id = ? ORDER BY medium, address",
                (user_id,),
            ),
        )
        return [(row.medium, row.address) for row in rows]

    async def delete_binding(
        self, user_id: str, medium: str, address: str, id_server: str
    ) -> None:
        """Forget the binding (no error if it was not known)."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "DELETE FROM user_threepid_bindings WHERE user_id = ?"
                " AND medium = ? AND address = ? AND id_server = ?",
                (user_id, medium, normalise_address(medium, address), id_server),
            )

        await self.db.run_interaction("delete_threepid_binding", txn_fn)
