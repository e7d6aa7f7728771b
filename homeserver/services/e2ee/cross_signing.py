"""Cross-signing: uploading the three keys, and signatures of keys.

Spec: client-server API, "Cross-signing" (POST /keys/device_signing/upload,
POST /keys/signatures/upload). The first upload needs no user-interactive
auth (a new account sets up cross-signing right after registering); replacing
keys that exist does. Every signature is verified before it is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeserver.errors import MatrixError
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.ui_auth import UiaOperation, UserInteractiveAuth
from homeserver.services.accounts.ui_auth_stages import PASSWORD
from homeserver.services.e2ee.key_checks import (
    CROSS_SIGNING_USAGES,
    bad,
    check_cross_signing_key,
    signature_valid,
)
from homeserver.signals import CrossSigningChanged, DevicesChanged, Signal
from homeserver.storage.stores.cross_signing import (
    CrossSigningStore,
    Signature,
    public_key_of,
)
from homeserver.storage.stores.e2e_keys import E2eKeyStore
from homeserver.types import JsonDict

INVALID_SIGNATURE = "M_INVALID_SIGNATURE"


class CrossSigningService:
    """Stores cross-signing keys and verified signatures.

    Args:
        store: cross-signing keys and detached signatures.
        device_keys: local devices' keys (targets and signers of signatures).
        uia: user-interactive auth, for replacing keys.
        changed: emitted when a user's cross-signing keys change.
        devices_changed: emitted when a device's keys gain a signature.
    """

    def __init__(
        self,
        *,
        store: CrossSigningStore,
        device_keys: E2eKeyStore,
        uia: UserInteractiveAuth,
        changed: Signal[CrossSigningChanged],
        devices_changed: Signal[DevicesChanged],
    ) -> None:
        self.store = store
        self.device_keys = device_keys
        self.uia = uia
        self.changed = changed
        self.devices_changed = devices_changed

    async def upload_keys(
        self,
        requester: Requester,
        body: Mapping[str, Any],
        operation: UiaOperation,
        auth: JsonDict | None,
    ) -> JsonDict:
        """POST /keys/device_signing/upload.

        Raises:
            MatrixError: 400 for a malformed key or one not signed by the
                master key; 401 while user-interactive auth is needed (never
                for an application service).
        """
        user_id = requester.user_id
        stored = (await self.store.get_keys([user_id])).get(user_id, {})
        new = {
            u: body[f"{u}_key"] for u in CROSS_SIGNING_USAGES if body.get(f"{u}_key")
        }
        if not new:
            return {}
        master = new.get("master") or stored.get("master")
        if master is None:
            raise bad("No master key: upload one first")
        for usage, key in new.items():
            check_cross_signing_key(key, user_id, usage)
        master_public = check_cross_signing_key(master, user_id, "master")
        for usage in ("self_signing", "user_signing"):
            if usage in new and not signature_valid(
                new[usage], user_id, f"ed25519:{master_public}", master_public
            ):
                raise bad(f"{usage} key is not signed by the master key")
        changed = {u: k for u, k in new.items() if _differs(stored.get(u), k)}
        if not changed:
            return {}
        # Replacing keys needs UIA, but not of an application service (spec
        # v1.17, AS API "Cross-signing").
        if stored.get("master") is not None and requester.app_service_id is None:
            result = await self.uia.authenticate(
                operation, auth, dict(body), [[PASSWORD]], requester
            )
        else:
            result = None
        await self.store.set_keys(user_id, changed)
        if result is not None:
            await self.uia.finish(result)
        self.changed.emit(CrossSigningChanged(user_id, ()))
        return {}

    async def upload_signatures(
        self, requester: Requester, body: Mapping[str, Any]
    ) -> JsonDict:
        """POST /keys/signatures/upload: each signature is checked on its own;
        the bad ones are listed in ``failures``, the good ones stored."""
        user_id = requester.user_id
        failures: JsonDict = {}
        good: list[Signature] = []
        for target_user, targets in body.items():
            if not isinstance(targets, dict):
                failures[target_user] = {}
                continue
            for target_key_id, signed in targets.items():
                try:
                    good += await self._check_upload(
                        user_id, target_user, target_key_id, signed
                    )
                except MatrixError as exc:
                    failures.setdefault(target_user, {})[target_key_id] = {
                        "errcode": exc.errcode,
                        "error": exc.msg,
                    }
        if good:
            await self.store.add_signatures(good)
            await self._announce(user_id, good)
        return {"failures": failures}

    async def _announce(self, user_id: str, signatures: list[Signature]) -> None:
        """Tell device lists what gained a signature: the user's devices, the
        user's master key (signed by a device), other users' master keys."""
        master = (await self.store.get_keys([user_id], ("master",))).get(user_id, {})
        master_public = public_key_of(master["master"]) if master else None
        mine = {s.target_key_id for s in signatures if s.target_user_id == user_id}
        devices = tuple(sorted(mine - {master_public}))
        if devices:
            self.devices_changed.emit(DevicesChanged(user_id, devices, False))
        if master_public in mine:
            self.changed.emit(CrossSigningChanged(user_id, ()))
        others = tuple(sorted({s.target_user_id for s in signatures} - {user_id}))
        if others:
            self.changed.emit(CrossSigningChanged(user_id, others))

    async def _check_upload(
        self, user_id: str, target_user: str, target_key_id: str, signed: Any
    ) -> list[Signature]:
        if not isinstance(signed, dict) or not isinstance(
            signed.get("signatures"), dict
        ):
            raise bad("Each signed key must be an object with signatures")
        mine = signed["signatures"].get(user_id)
        if not isinstance(mine, dict) or not mine:
            raise bad(f"No signature by {user_id}")
        cross = (await self.store.get_keys([user_id, target_user])).get(user_id, {})
        if target_user == user_id:
            device = await self.device_keys.get_device_keys(user_id, target_key_id)
            if device is not None:
                return _verified(
                    signed,
                    device,
                    user_id,
                    target_key_id,
                    mine,
                    cross.get("self_signing"),
                )
            master = cross.get("master")
            if master is not None and public_key_of(master) == target_key_id:
                devices = await self._signing_devices(user_id, mine)
                return _verified_by_devices(signed, master, user_id, mine, devices)
            raise MatrixError(404, "No such key", "M_NOT_FOUND")
        theirs = signed.get("keys")
        if (
            signed.get("user_id") != target_user
            or not isinstance(theirs, dict)
            or list(theirs.values()) != [target_key_id]
        ):
            raise bad("Only another user's master key can be signed")
        return _verified(
            signed, signed, user_id, target_key_id, mine, cross.get("user_signing")
        )

    async def _signing_devices(
        self, user_id: str, mine: Mapping[str, Any]
    ) -> dict[str, str]:
        """The ed25519 keys of the user's devices named by ``mine``'s key IDs."""
        out = {}
        for key_id in mine:
            if isinstance(key_id, str) and key_id.startswith("ed25519:"):
                device_id = key_id.split(":", 1)[1]
                keys = await self.device_keys.get_device_keys(user_id, device_id)
                public = (keys or {}).get("keys", {}).get(key_id)
                if isinstance(public, str):
                    out[key_id] = public
        return out


def _differs(old: JsonDict | None, new: JsonDict) -> bool:
    return old is None or public_key_of(old) != public_key_of(new) or old != new


def _same_key(signed: JsonDict, stored: JsonDict) -> bool:
    strip = ("signatures", "unsigned")
    return {k: v for k, v in signed.items() if k not in strip} == {
        k: v for k, v in stored.items() if k not in strip
    }


def _verified(
    signed: JsonDict,
    stored: JsonDict,
    user_id: str,
    target_key_id: str,
    mine: Mapping[str, Any],
    signing_key: JsonDict | None,
) -> list[Signature]:
    """The signature by ``signing_key`` (a self- or user-signing key) over
    ``stored``, as ``signed`` carries it."""
    public = public_key_of(signing_key) if signing_key else None
    if public is None:
        raise bad("No cross-signing key to sign with: upload one first")
    key_id = f"ed25519:{public}"
    if key_id not in mine:
        raise MatrixError(400, f"No signature by {key_id}", INVALID_SIGNATURE)
    if not _same_key(signed, stored):
        raise MatrixError(
            400, "The signed key is not the stored key", INVALID_SIGNATURE
        )
    if not signature_valid(signed, user_id, key_id, public):
        raise MatrixError(400, "Invalid signature", INVALID_SIGNATURE)
    target_user = stored.get("user_id")
    assert isinstance(target_user, str)
    return [Signature(user_id, key_id, target_user, target_key_id, mine[key_id])]


def _verified_by_devices(
    signed: JsonDict,
    master: JsonDict,
    user_id: str,
    mine: Mapping[str, Any],
    devices: Mapping[str, str],
) -> list[Signature]:
    """Signatures by the user's own devices over their master key."""
    if not _same_key(signed, master):
        raise MatrixError(
            400, "The signed key is not the stored key", INVALID_SIGNATURE
        )
    target = public_key_of(master)
    assert target is not None
    out = []
    for key_id, public in devices.items():
        if signature_valid(signed, user_id, key_id, public):
            out.append(Signature(user_id, key_id, user_id, target, mine[key_id]))
    if not out:
        raise MatrixError(400, "No valid signature by a device", INVALID_SIGNATURE)
    return out
