"""MSC3202 key counts: the one-time keys left and unused fallback keys of
every device of some users (what an encrypting bridge needs to top up its
puppets' keys without a /sync per puppet)."""

from __future__ import annotations

from collections.abc import Collection

from homeserver.storage.stores.devices import DeviceStore
from homeserver.storage.stores.e2e_keys import E2eKeyStore
from homeserver.types import JsonDict


class KeyCountReader:
    """Reads key counts per device.

    Args:
        devices: the users' devices.
        keys: their keys.
    """

    def __init__(self, devices: DeviceStore, keys: E2eKeyStore) -> None:
        self.devices = devices
        self.keys = keys

    async def __call__(
        self, user_ids: Collection[str]
    ) -> tuple[dict[str, JsonDict], dict[str, JsonDict]]:
        """(user -> device -> algorithm -> count, user -> device -> [unused
        fallback key algorithms])."""
        counts: dict[str, JsonDict] = {}
        fallback: dict[str, JsonDict] = {}
        by_user = await self.devices.get_device_ids(user_ids)
        for user_id in sorted(by_user):
            for device_id in sorted(by_user[user_id]):
                otks, unused = await self.keys.get_key_counts(user_id, device_id)
                counts.setdefault(user_id, {})[device_id] = {
                    "signed_curve25519": 0,
                    **otks,
                }
                fallback.setdefault(user_id, {})[device_id] = unused
        return counts, fallback
