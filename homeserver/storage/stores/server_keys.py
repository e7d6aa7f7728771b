"""Other servers' signing keys and their signed key responses."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row
from homeserver.types import JsonDict


@attrs.frozen
class StoredKey:
    """One remote verify key.

    Attributes:
        verify_key: unpadded base64 public key.
        valid_until_ts: usable for objects signed up to this time (for an old
            key: its ``expired_ts``).
        is_old: published under ``old_verify_keys`` (events only, not requests).
        fetched_ts: when we learned it.
    """

    server_name: str
    key_id: str
    verify_key: str
    valid_until_ts: int
    is_old: bool
    fetched_ts: int


@attrs.frozen
class StoredResponse:
    """A server's key response as it signed it."""

    server_name: str
    response: JsonDict
    valid_until_ts: int
    fetched_ts: int


class ServerKeyStore:
    """Reads and writes fetched server keys."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_key(self, server_name: str, key_id: str) -> StoredKey | None:
        """One stored key, or None."""
        row = await self.db.run_interaction(
            "get_server_key",
            lambda txn: txn.query_one(
                "SELECT verify_key, valid_until_ts, is_old, fetched_ts"
                " FROM server_signing_keys WHERE server_name = ? AND key_id = ?",
                (server_name, key_id),
            ),
        )
        if row is None:
            return None
        return StoredKey(
            server_name,
            key_id,
            row.verify_key,
            int(row.valid_until_ts),
            bool(row.is_old),
            int(row.fetched_ts),
        )

    async def store_response(
        self, response: StoredResponse, keys: Iterable[StoredKey]
    ) -> None:
        """Save a verified key response and the keys it lists; the latest
        answer wins for each key it lists (so a key moved to old_verify_keys
        gets its expiry), and keys it leaves out keep what was stored."""
        keys = list(keys)
        text = json.dumps(response.response, separators=(",", ":"))

        def store_txn(txn: Transaction) -> None:
            for key in keys:
                txn.execute(
                    "INSERT INTO server_signing_keys (server_name, key_id,"
                    " verify_key, valid_until_ts, is_old, fetched_ts)"
                    " VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (server_name, key_id) DO UPDATE SET"
                    " verify_key = excluded.verify_key,"
                    " valid_until_ts = excluded.valid_until_ts,"
                    " is_old = excluded.is_old, fetched_ts = excluded.fetched_ts",
                    (
                        key.server_name,
                        key.key_id,
                        key.verify_key,
                        key.valid_until_ts,
                        key.is_old,
                        key.fetched_ts,
                    ),
                )
                _upsert_key_json_txn(txn, response, key.key_id, text)

        await self.db.run_interaction("store_server_key_response", store_txn)

    async def get_responses(
        self, server_name: str, key_ids: Collection[str] = ()
    ) -> dict[str, StoredResponse]:
        """Key ID -> the latest verified response of ``server_name`` that
        listed it, for ``key_ids`` (all the server's keys when empty); keys
        never seen are left out."""

        def txn_fn(txn: Transaction) -> list[Row]:
            sql = (
                "SELECT key_id, response_json, valid_until_ts, fetched_ts"
                " FROM server_key_json WHERE server_name = ?"
            )
            if not key_ids:
                return txn.query(sql, (server_name,))
            return txn.query_in(
                sql + " AND key_id IN (?*)", sorted(key_ids), (server_name,)
            )

        rows = await self.db.run_interaction("get_server_key_responses", txn_fn)
        return {
            row.key_id: StoredResponse(
                server_name,
                json.loads(row.response_json),
                int(row.valid_until_ts),
                int(row.fetched_ts),
            )
            for row in rows
        }


def _upsert_key_json_txn(
    txn: Transaction, response: StoredResponse, key_id: str, text: str
) -> None:
    txn.execute(
        "INSERT INTO server_key_json (server_name, key_id, response_json,"
        " valid_until_ts, fetched_ts) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (server_name, key_id) DO UPDATE SET"
        " response_json = excluded.response_json,"
        " valid_until_ts = excluded.valid_until_ts,"
        " fetched_ts = excluded.fetched_ts",
        (
            response.server_name,
            key_id,
            text,
            response.valid_until_ts,
            response.fetched_ts,
        ),
    )
