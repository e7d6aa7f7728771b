"""Cross-signing keys and the signatures uploaded apart from the keys they sign.

Spec: client-server API, "Cross-signing". Keys are kept by (user, type) for
local and remote users alike; a signature uploaded through
/keys/signatures/upload is kept by signer and target, and merged into the
target's keys when they are served.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.types import JsonDict

KEY_TYPES = ("master", "self_signing", "user_signing")


@attrs.frozen
class Signature:
    """``user_id``'s signature with ``key_id`` over a key of ``target_user_id``
    (``target_key_id``: a device ID or a cross-signing public key)."""

    user_id: str
    key_id: str
    target_user_id: str
    target_key_id: str
    signature: str


def public_key_of(key: JsonDict) -> str | None:
    """The ed25519 public key of a cross-signing key object (its only key)."""
    keys = key.get("keys")
    if isinstance(keys, dict) and len(keys) == 1:
        (value,) = keys.values()
        return value if isinstance(value, str) else None
    return None


class CrossSigningStore:
    """Reads and writes cross-signing keys and detached signatures."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_keys(
        self, user_ids: Collection[str], key_types: Collection[str] = KEY_TYPES
    ) -> dict[str, dict[str, JsonDict]]:
        """Each user's cross-signing keys of ``key_types``, by type."""

        def txn_fn(txn: Transaction) -> dict[str, dict[str, JsonDict]]:
            out: dict[str, dict[str, JsonDict]] = {}
            for row in txn.query_in(
                "SELECT user_id, key_type, key_json FROM e2e_cross_signing_keys"
                " WHERE user_id IN (?*)",
                sorted(set(user_ids)),
            ):
                if row.key_type in key_types:
                    out.setdefault(row.user_id, {})[row.key_type] = json.loads(
                        row.key_json
                    )
            return out

        return await self.db.run_interaction("get_cross_signing_keys", txn_fn)

    async def set_keys(self, user_id: str, keys: Mapping[str, JsonDict]) -> None:
        """Replace some of a user's keys (by type), in one transaction; the
        signatures made by or over a replaced key go with it."""

        def txn_fn(txn: Transaction) -> None:
            for key_type, key in keys.items():
                row = txn.query_one(
                    "SELECT key_json FROM e2e_cross_signing_keys"
                    " WHERE user_id = ? AND key_type = ?",
                    (user_id, key_type),
                )
                old = public_key_of(json.loads(row.key_json)) if row else None
                if old is not None and old != public_key_of(key):
                    # Signatures by or over the replaced key are void.
                    txn.execute(
                        "DELETE FROM e2e_signatures WHERE (user_id = ? AND key_id = ?)"
                        " OR (target_user_id = ? AND target_key_id = ?)",
                        (user_id, f"ed25519:{old}", user_id, old),
                    )
                txn.execute(
                    "DELETE FROM e2e_cross_signing_keys"
                    " WHERE user_id = ? AND key_type = ?",
                    (user_id, key_type),
                )
                txn.execute(
                    "INSERT INTO e2e_cross_signing_keys (user_id, key_type, key_json)"
                    " VALUES (?, ?, ?)",
                    (user_id, key_type, json.dumps(key, sort_keys=True)),
                )

        await self.db.run_interaction("set_cross_signing_keys", txn_fn)

    async def add_signatures(self, signatures: Sequence[Signature]) -> None:
        """Store signatures (a newer one over the same key replaces it)."""

        def txn_fn(txn: Transaction) -> None:
            for s in signatures:
                txn.execute(
                    "DELETE FROM e2e_signatures WHERE user_id = ? AND key_id = ?"
                    " AND target_user_id = ? AND target_key_id = ?",
                    (s.user_id, s.key_id, s.target_user_id, s.target_key_id),
                )
                txn.execute(
                    "INSERT INTO e2e_signatures (user_id, key_id, target_user_id,"
                    " target_key_id, signature) VALUES (?, ?, ?, ?, ?)",
                    (
                        s.user_id,
                        s.key_id,
                        s.target_user_id,
                        s.target_key_id,
                        s.signature,
                    ),
                )

        await self.db.run_interaction("add_e2e_signatures", txn_fn)

    async def get_signatures(self, target_user_ids: Collection[str]) -> list[Signature]:
        """Every detached signature over a key of one of ``target_user_ids``."""
        rows = await self.db.run_interaction(
            "get_e2e_signatures",
            lambda txn: txn.query_in(
                "SELECT user_id, key_id, target_user_id, target_key_id, signature"
                " FROM e2e_signatures WHERE target_user_id IN (?*)",
                sorted(set(target_user_ids)),
            ),
        )
        return [Signature(*row) for row in rows]
