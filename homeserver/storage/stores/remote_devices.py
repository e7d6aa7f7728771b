"""The remote device list cache: other servers' users' devices and keys.

Spec: server-server API, "Device Management". A remote user is cached once we
have had their whole device list (GET /user/devices, or its first
m.device_list_update after that); each later update is applied in
``stream_id`` order. A gap in the chain marks the user stale, and a stale user
is resynced before their devices are served again.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.stores.cross_signing import KEY_TYPES
from homeserver.types import JsonDict


@attrs.frozen
class RemoteDevice:
    """One cached device of a remote user."""

    device_id: str
    display_name: str | None
    keys: JsonDict | None


class RemoteDeviceStore:
    """Reads and writes the remote device list cache."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_cached_users(self, user_ids: Collection[str]) -> set[str]:
        """Which of ``user_ids`` have an up-to-date cached device list."""

        def txn_fn(txn: Transaction) -> set[str]:
            wanted = sorted(set(user_ids))
            tracked = {
                r.user_id
                for r in txn.query_in(
                    "SELECT user_id FROM device_lists_remote WHERE user_id IN (?*)",
                    wanted,
                )
            }
            stale = {
                r.user_id
                for r in txn.query_in(
                    "SELECT user_id FROM device_lists_remote_stale"
                    " WHERE user_id IN (?*)",
                    wanted,
                )
            }
            return tracked - stale

        return await self.db.run_interaction("get_cached_remote_users", txn_fn)

    async def get_devices(
        self, user_ids: Collection[str]
    ) -> dict[str, list[RemoteDevice]]:
        """The cached devices of each user (users without any left out)."""
        rows = await self.db.run_interaction(
            "get_remote_devices",
            lambda txn: txn.query_in(
                "SELECT user_id, device_id, display_name, key_json FROM remote_devices"
                " WHERE user_id IN (?*) ORDER BY user_id, device_id",
                sorted(set(user_ids)),
            ),
        )
        out: dict[str, list[RemoteDevice]] = {}
        for r in rows:
            keys = json.loads(r.key_json) if r.key_json else None
            out.setdefault(r.user_id, []).append(
                RemoteDevice(r.device_id, r.display_name, keys)
            )
        return out

    async def replace_user(
        self,
        user_id: str,
        stream_id: int,
        devices: Sequence[RemoteDevice],
        cross_signing: Mapping[str, JsonDict],
    ) -> None:
        """A whole device list (a resync): replaces what was cached, and the
        user is up to date at ``stream_id``."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute("DELETE FROM remote_devices WHERE user_id = ?", (user_id,))
            txn.execute_many(
                "INSERT INTO remote_devices (user_id, device_id, display_name,"
                " key_json) VALUES (?, ?, ?, ?)",
                [
                    (user_id, d.device_id, d.display_name, _dump(d.keys))
                    for d in devices
                ],
            )
            for key_type in KEY_TYPES:
                if key_type in cross_signing:
                    _set_cross_signing_txn(
                        txn, user_id, key_type, cross_signing[key_type]
                    )
            _set_position_txn(txn, user_id, stream_id)

        await self.db.run_interaction("replace_remote_devices", txn_fn)

    async def apply_update(
        self,
        user_id: str,
        stream_id: int,
        device: RemoteDevice,
        deleted: bool,
    ) -> None:
        """One m.device_list_update that continues the cached chain."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "DELETE FROM remote_devices WHERE user_id = ? AND device_id = ?",
                (user_id, device.device_id),
            )
            if not deleted:
                txn.execute(
                    "INSERT INTO remote_devices (user_id, device_id, display_name,"
                    " key_json) VALUES (?, ?, ?, ?)",
                    (
                        user_id,
                        device.device_id,
                        device.display_name,
                        _dump(device.keys),
                    ),
                )
            _set_position_txn(txn, user_id, stream_id)

        await self.db.run_interaction("apply_remote_device_update", txn_fn)

    async def set_cross_signing(
        self, user_id: str, keys: Mapping[str, JsonDict]
    ) -> None:
        """A remote user's new cross-signing keys (m.signing_key_update)."""

        def txn_fn(txn: Transaction) -> None:
            for key_type, key in keys.items():
                _set_cross_signing_txn(txn, user_id, key_type, key)

        await self.db.run_interaction("set_remote_cross_signing", txn_fn)

    async def mark_stale(self, user_id: str, now_ms: int) -> None:
        """The cached list missed an update: resync before serving it."""
        await self.db.run_interaction(
            "mark_remote_devices_stale",
            lambda txn: txn.execute(
                "INSERT INTO device_lists_remote_stale (user_id, since_ts)"
                " VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING",
                (user_id, now_ms),
            ),
        )

    async def get_stale_users(self) -> list[str]:
        """Users waiting for a resync (for retries after a restart)."""
        rows = await self.db.run_interaction(
            "get_stale_remote_users",
            lambda txn: txn.query(
                "SELECT user_id FROM device_lists_remote_stale ORDER BY since_ts"
            ),
        )
        return [r.user_id for r in rows]


def _dump(keys: JsonDict | None) -> str | None:
    return None if keys is None else json.dumps(keys, sort_keys=True)


def _set_position_txn(txn: Transaction, user_id: str, stream_id: int) -> None:
    txn.execute(
        "INSERT INTO device_lists_remote (user_id, stream_id) VALUES (?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET stream_id = excluded.stream_id",
        (user_id, stream_id),
    )
    txn.execute("DELETE FROM device_lists_remote_stale WHERE user_id = ?", (user_id,))


def _set_cross_signing_txn(
    txn: Transaction, user_id: str, key_type: str, key: JsonDict
) -> None:
    txn.execute(
        "DELETE FROM e2e_cross_signing_keys WHERE user_id = ? AND key_type = ?",
        (user_id, key_type),
    )
    txn.execute(
        "INSERT INTO e2e_cross_signing_keys (user_id, key_type, key_json)"
        " VALUES (?, ?, ?)",
        (user_id, key_type, json.dumps(key, sort_keys=True)),
    )
