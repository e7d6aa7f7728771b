"""Detached signatures, merged into the keys they sign when keys are served.

Spec: client-server API, "Cross-signing": a user's signatures over their own
devices and master key are public; a signature over another user's master key
(made with the user-signing key) is shown only to the user who made it.
"""

from __future__ import annotations

from homeserver.storage.stores.cross_signing import CrossSigningStore, public_key_of
from homeserver.types import JsonDict


class SignatureView:
    """Adds stored detached signatures to served keys."""

    def __init__(self, store: CrossSigningStore) -> None:
        self.store = store

    async def merge_into_devices(
        self, device_keys: dict[str, dict[str, JsonDict]], requester_id: str | None
    ) -> None:
        """Add signatures to ``device_keys`` (user -> device -> keys), in place."""
        users = [u for u, devices in device_keys.items() if devices]
        if not users:
            return
        for sig in await self.store.get_signatures(users):
            if not _visible(sig.user_id, sig.target_user_id, requester_id):
                continue
            keys = device_keys.get(sig.target_user_id, {}).get(sig.target_key_id)
            if keys is not None:
                _add(keys, sig.user_id, sig.key_id, sig.signature)

    async def merge_into_cross_signing(
        self, keys_by_user: dict[str, JsonDict], requester_id: str | None
    ) -> None:
        """Add signatures to each user's cross-signing key, in place."""
        if not keys_by_user:
            return
        for sig in await self.store.get_signatures(list(keys_by_user)):
            if not _visible(sig.user_id, sig.target_user_id, requester_id):
                continue
            key = keys_by_user.get(sig.target_user_id)
            if key is not None and public_key_of(key) == sig.target_key_id:
                _add(key, sig.user_id, sig.key_id, sig.signature)


def _visible(signer: str, target: str, requester_id: str | None) -> bool:
    return signer == target or signer == requester_id


def _add(keys: JsonDict, signer: str, key_id: str, signature: str) -> None:
    signatures = dict(keys.get("signatures") or {})
    by_signer = dict(signatures.get(signer) or {})
    by_signer[key_id] = signature
    signatures[signer] = by_signer
    keys["signatures"] = signatures
