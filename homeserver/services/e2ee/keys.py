"""Local devices' keys: upload, and the local half of query and claim.

Spec: client-server API, "End-to-End Encryption" (POST /keys/upload; the
local users of /keys/query and /keys/claim), and the /sync fields
``device_one_time_keys_count`` and ``device_unused_fallback_key_types``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from homeserver.errors import Codes, MatrixError
from homeserver.services.accounts.auth import Requester
from homeserver.services.e2ee.key_checks import (
    bad,
    check_device_keys,
    check_one_time_key,
)
from homeserver.services.e2ee.signatures_view import SignatureView
from homeserver.signals import DevicesChanged, Signal
from homeserver.storage.stores.e2e_keys import E2eKeyStore, KeyConflict, OneTimeKey
from homeserver.types import JsonDict

# Clients upload 50 or so at a time; this bounds one request's work.
MAX_KEYS_PER_UPLOAD = 1000
# What the counts always name, even at zero (clients look for it).
COUNTED_ALGORITHMS = ("signed_curve25519",)


class E2eKeyService:
    """Uploads and hands out local devices' keys.

    Args:
        store: the keys.
        signatures: merges detached signatures into served keys.
        devices_changed: emitted when a device publishes its keys (device
            lists then tell everyone who shares a room with its owner).
    """

    def __init__(
        self,
        *,
        store: E2eKeyStore,
        signatures: SignatureView,
        devices_changed: Signal[DevicesChanged],
    ) -> None:
        self.store = store
        self.signatures = signatures
        self.devices_changed = devices_changed

    async def upload(
        self,
        requester: Requester,
        device_keys: JsonDict | None,
        one_time_keys: Mapping[str, Any] | None,
        fallback_keys: Sequence[Mapping[str, Any] | None],
    ) -> JsonDict:
        """POST /keys/upload: device keys, one-time keys and fallback keys
        (``fallback_keys``: the stable field and the unstable one).

        Raises:
            MatrixError: 400 for malformed keys, bad signatures, device keys
                that differ from the ones already uploaded, or a one-time key
                ID reused with other contents. Nothing is stored then. 400
                M_MISSING_PARAM for an application service acting without
                ``device_id`` (keys belong to a device).
        """
        if not requester.device_id:
            raise MatrixError(
                400,
                "To upload keys, act with a device_id",
                Codes.MISSING_PARAM,
            )
        return await self.upload_for(
            requester.user_id,
            requester.device_id,
            device_keys,
            one_time_keys,
            fallback_keys,
        )

    async def upload_for(
        self,
        user_id: str,
        device_id: str,
        device_keys: JsonDict | None,
        one_time_keys: Mapping[str, Any] | None,
        fallback_keys: Sequence[Mapping[str, Any] | None],
    ) -> JsonDict:
        """``upload`` for one device of ``user_id`` (a dehydrated device's
        keys are uploaded by another of the user's devices)."""
        if device_keys is not None:
            device_keys = check_device_keys(device_keys, user_id, device_id)
        one_time, fallback = check_key_upload(one_time_keys, fallback_keys)
        try:
            outcome = await self.store.upload(
                user_id, device_id, device_keys, one_time, fallback
            )
        except KeyConflict as exc:
            raise bad(
                f"One time key {exc.key_id} already exists with other contents"
            ) from None
        if outcome == "different":
            raise MatrixError(
                400,
                "This device already has other device keys: log in as a new device",
                Codes.INVALID_PARAM,
            )
        if outcome == "new":
            self.devices_changed.emit(DevicesChanged(user_id, (device_id,), False))
        counts, _ = await self.key_counts(user_id, device_id)
        return {"one_time_key_counts": counts}

    async def key_counts(
        self, user_id: str, device_id: str
    ) -> tuple[dict[str, int], list[str]]:
        """/sync: unclaimed one-time keys by algorithm (signed_curve25519
        always), and the algorithms whose fallback key is still unused."""
        found = await self.key_counts_many([(user_id, device_id)])
        return found[(user_id, device_id)]

    async def key_counts_many(
        self, devices: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[dict[str, int], list[str]]]:
        """``key_counts`` of each (user, device), in one transaction."""
        found = await self.store.get_key_counts_many(devices)
        for counts, _ in found.values():
            _with_counted(counts)
        return found

    def cached_key_counts(
        self, user_id: str, device_id: str
    ) -> tuple[dict[str, int], list[str]] | None:
        """``key_counts`` if the store remembers them, else None (no wait)."""
        found = self.store.cached_key_counts((user_id, device_id))
        if found is not None:
            _with_counted(found[0])
        return found

    async def query_local(
        self, query: Mapping[str, Collection[str]], requester_id: str | None
    ) -> JsonDict:
        """The ``device_keys`` of local users' devices (all of a user's when
        their list is empty), with each device's display name in
        ``unsigned`` and the detached signatures ``requester_id`` may see."""
        found = await self.store.get_devices_with_keys(query)
        out: JsonDict = {user_id: {} for user_id in query}
        for user_id, devices in found.items():
            for device_id, (keys, name) in devices.items():
                if keys is None:
                    continue
                keys = dict(keys)
                keys["unsigned"] = {"device_display_name": name} if name else {}
                out[user_id][device_id] = keys
        await self.signatures.merge_into_devices(out, requester_id)
        return out

    async def claim_local(self, wanted: Sequence[tuple[str, str, str]]) -> JsonDict:
        """One key for each (user, device, algorithm): a one-time key, each
        handed out once, else the device's fallback key."""
        out: JsonDict = {}
        for key in await self.store.claim(wanted):
            out.setdefault(key.user_id, {}).setdefault(key.device_id, {})[
                f"{key.algorithm}:{key.key_id}"
            ] = key.key
        return out


def check_key_upload(
    one_time_keys: Mapping[str, Any] | None,
    fallback_keys: Sequence[Mapping[str, Any] | None],
) -> tuple[list[OneTimeKey], list[OneTimeKey]]:
    """The one-time and fallback keys of an upload, checked (the fallback
    keys of several fields merged, the later winning)."""
    one_time = _parse_keys(one_time_keys, "one_time_keys")
    merged: dict[str, Any] = {}
    for keys in fallback_keys:
        if keys is not None and not isinstance(keys, Mapping):
            raise bad("fallback_keys must be an object")
        merged.update(keys or {})
    fallback = _parse_keys(merged, "fallback_keys")
    if len({k.algorithm for k in fallback}) != len(fallback):
        raise bad("fallback_keys: one key per algorithm")
    return one_time, fallback


def _parse_keys(keys: Any, field: str) -> list[OneTimeKey]:
    if keys is None:
        return []
    if not isinstance(keys, dict):
        raise bad(f"{field} must be an object")
    if len(keys) > MAX_KEYS_PER_UPLOAD:
        raise MatrixError(
            413, f"At most {MAX_KEYS_PER_UPLOAD} keys per upload", Codes.TOO_LARGE
        )
    out = []
    for key_id, key in keys.items():
        algorithm, ident = check_one_time_key(key_id, key, field)
        out.append(OneTimeKey(algorithm, ident, key))
    return out


def _with_counted(counts: dict[str, int]) -> None:
    """The counted algorithms are always listed, at 0 if none is left."""
    for algorithm in COUNTED_ALGORITHMS:
        counts.setdefault(algorithm, 0)
