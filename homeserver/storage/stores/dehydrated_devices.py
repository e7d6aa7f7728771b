"""Each user's dehydrated device (MSC3814): its ID and encrypted data."""

from __future__ import annotations

import json

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.types import JsonDict


@attrs.frozen
class DehydratedDevice:
    """A user's dehydrated device."""

    device_id: str
    device_data: JsonDict


class DehydratedDeviceStore:
    """Reads and writes dehydrated devices."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str) -> DehydratedDevice | None:
        """The user's dehydrated device, if any."""
        row = await self.db.run_interaction(
            "get_dehydrated_device",
            lambda txn: txn.query_one(
                "SELECT device_id, device_data FROM dehydrated_devices"
                " WHERE user_id = ?",
                (user_id,),
            ),
        )
        return (
            DehydratedDevice(row.device_id, json.loads(row.device_data))
            if row
            else None
        )

    async def set(self, user_id: str, device_id: str, data: JsonDict) -> None:
        """Make ``device_id`` the user's dehydrated device."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute("DELETE FROM dehydrated_devices WHERE user_id = ?", (user_id,))
            txn.execute(
                "INSERT INTO dehydrated_devices (user_id, device_id, device_data)"
                " VALUES (?, ?, ?)",
                (user_id, device_id, json.dumps(data)),
            )

        await self.db.run_interaction("set_dehydrated_device", txn_fn)

    async def delete(self, user_id: str) -> None:
        """Forget the user's dehydrated device (its device row is the
        device store's to delete)."""
        await self.db.run_interaction(
            "delete_dehydrated_device",
            lambda txn: txn.execute(
                "DELETE FROM dehydrated_devices WHERE user_id = ?", (user_id,)
            ),
        )
