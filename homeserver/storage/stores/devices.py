"""Devices, and deleting everything scoped to a device."""

from __future__ import annotations

from collections.abc import Collection

import attrs

from homeserver.signals import DevicesChanged, Signal
from homeserver.storage.database import Database, Transaction

# Tables whose rows belong to one device and go when it goes.
DEVICE_SCOPED_TABLES = (
    "access_tokens",
    "refresh_tokens",
    "device_inbox",
    "e2e_device_keys",
    "e2e_one_time_keys",
    "e2e_fallback_keys",
    "dehydrated_devices",
)


@attrs.frozen
class Device:
    """One device of a user."""

    user_id: str
    device_id: str
    display_name: str | None
    last_seen_ts: int | None
    last_seen_ip: str | None
    last_seen_user_agent: str | None = None


class DeviceStore:
    """Reads and writes devices.

    Args:
        db: the database.
        changed: emitted after a device is created, renamed or deleted (device
            list tracking follows it).
    """

    def __init__(self, db: Database, changed: Signal[DevicesChanged]) -> None:
        self.db = db
        self.changed = changed

    def _changed(self, user_id: str, device_ids: list[str], deleted: bool) -> None:
        if device_ids:
            self.changed.emit(DevicesChanged(user_id, tuple(device_ids), deleted))

    async def upsert_device(
        self,
        user_id: str,
        device_id: str,
        display_name: str | None,
        now_ms: int,
        ip: str | None,
    ) -> bool:
        """Create the device if it is new; returns whether it was created."""

        def upsert_device_txn(txn: Transaction) -> bool:
            if txn.query_one(
                "SELECT 1 FROM devices WHERE user_id = ? AND device_id = ?",
                (user_id, device_id),
            ):
                txn.execute(
                    "UPDATE devices SET last_seen_ts = ?, last_seen_ip = ?"
                    " WHERE user_id = ? AND device_id = ?",
                    (now_ms, ip, user_id, device_id),
                )
                return False
            txn.execute(
                "INSERT INTO devices (user_id, device_id, display_name, last_seen_ts,"
                " last_seen_ip) VALUES (?, ?, ?, ?, ?)",
                (user_id, device_id, display_name, now_ms, ip),
            )
            return True

        created = await self.db.run_interaction("upsert_device", upsert_device_txn)
        if created:
            self._changed(user_id, [device_id], False)
        return created

    async def get_devices(self, user_id: str) -> list[Device]:
        """Every device of a user, ordered by ID."""
        rows = await self.db.run_interaction(
            "get_devices",
            lambda txn: txn.query(
                "SELECT user_id, device_id, display_name, last_seen_ts, last_seen_ip,"
                " last_seen_user_agent"
                " FROM devices WHERE user_id = ? ORDER BY device_id",
                (user_id,),
            ),
        )
        return [Device(**row._asdict()) for row in rows]

    async def get_device_ids(self, user_ids: Collection[str]) -> dict[str, set[str]]:
        """The device IDs of each of ``user_ids`` (a user with none is left
        out), in one transaction however many users are asked about."""
        wanted = sorted(set(user_ids))

        def txn_fn(txn: Transaction) -> dict[str, set[str]]:
            found: dict[str, set[str]] = {}
            for row in txn.query_in(
                "SELECT user_id, device_id FROM devices WHERE user_id IN (?*)",
                wanted,
                batch=500,
            ):
                found.setdefault(row.user_id, set()).add(row.device_id)
            return found

        return await self.db.run_interaction("get_device_ids", txn_fn)

    async def get_device(self, user_id: str, device_id: str) -> Device | None:
        """One device, or None."""
        row = await self.db.run_interaction(
            "get_device",
            lambda txn: txn.query_one(
                "SELECT user_id, device_id, display_name, last_seen_ts, last_seen_ip,"
                " last_seen_user_agent"
                " FROM devices WHERE user_id = ? AND device_id = ?",
                (user_id, device_id),
            ),
        )
        return Device(**row._asdict()) if row else None

    async def update_display_name(
        self, user_id: str, device_id: str, name: str | None
    ) -> bool:
        """Rename a device; returns False if it does not exist."""

        def rename_txn(txn: Transaction) -> bool:
            txn.execute(
                "UPDATE devices SET display_name = ? WHERE user_id = ? AND device_id = ?",
                (name, user_id, device_id),
            )
            return txn.rowcount > 0

        renamed = await self.db.run_interaction(
            "update_device_display_name", rename_txn
        )
        if renamed:
            self._changed(user_id, [device_id], False)
        return renamed

    async def update_last_seen(
        self,
        user_id: str,
        device_id: str,
        now_ms: int,
        ip: str,
        user_agent: str | None = None,
    ) -> None:
        """Record that a device was just used (and with which client)."""
        await self.db.run_interaction(
            "update_device_last_seen",
            lambda txn: txn.execute(
                "UPDATE devices SET last_seen_ts = ?, last_seen_ip = ?,"
                " last_seen_user_agent = ? WHERE user_id = ? AND device_id = ?",
                (now_ms, ip, user_agent, user_id, device_id),
            ),
        )

    async def delete_devices(self, user_id: str, device_ids: Collection[str]) -> None:
        """Delete devices with their tokens, in one transaction."""

        def delete_devices_txn(txn: Transaction) -> list[str]:
            deleted = []
            for device_id in device_ids:
                for table in (*DEVICE_SCOPED_TABLES, "devices"):
                    txn.execute(
                        f"DELETE FROM {table} WHERE user_id = ? AND device_id = ?",
                        (user_id, device_id),
                    )
                if txn.rowcount > 0:
                    deleted.append(device_id)
            return deleted

        deleted = await self.db.run_interaction("delete_devices", delete_devices_txn)
        self._changed(user_id, deleted, True)

    async def delete_all_devices(
        self, user_id: str, except_device_id: str | None = None
    ) -> None:
        """Delete every device of a user (but one) with their tokens."""

        def delete_all_txn(txn: Transaction) -> list[str]:
            deleted = [
                r.device_id
                for r in txn.query(
                    "SELECT device_id FROM devices WHERE user_id = ? AND device_id != ?",
                    (user_id, except_device_id or ""),
                )
            ]
            for table in (*DEVICE_SCOPED_TABLES, "devices"):
                txn.execute(
                    f"DELETE FROM {table} WHERE user_id = ? AND device_id != ?",
                    (user_id, except_device_id or ""),
                )

            return sorted(deleted)

        deleted = await self.db.run_interaction("delete_all_devices", delete_all_txn)
        self._changed(user_id, deleted, True)
