"""Device keys, one-time keys and fallback keys of local devices.

Spec: client-server API, "End-to-End Encryption" (keys/upload, keys/query,
keys/claim). Each one-time key is handed out once: a claim deletes the row it
read and, when another claim deleted it first (the DELETE changes no row),
reads the next one, so two racing claims never share a key on either engine.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Literal

import attrs

from homeserver.storage.database import Database, Transaction, in_list
from homeserver.types import JsonDict
from homeserver.util.caches import LruCache

DeviceKeysWrite = Literal["new", "same", "different"]
# (user, device) pairs per statement of ``get_key_counts_many``.
_DEVICE_BATCH = 200
# Devices whose key counts are remembered (every /sync answer carries them).
KEY_COUNTS_CACHE_SIZE = 50_000
# The tables the counts are made of: any write to them (in any process)
# forgets every remembered count.
KEY_COUNT_TABLES = ("e2e_one_time_keys", "e2e_fallback_keys")

_KeyCounts = tuple[dict[str, int], list[str]]


@attrs.frozen
class OneTimeKey:
    """One key of an upload: ``algorithm:key_id`` and its JSON."""

    algorithm: str
    key_id: str
    key: JsonDict | str


@attrs.frozen
class ClaimedKey:
    """A key handed out by a claim."""

    user_id: str
    device_id: str
    algorithm: str
    key_id: str
    key: JsonDict | str


class E2eKeyStore:
    """Reads and writes local devices' end-to-end encryption keys."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._counts: LruCache[tuple[str, str], _KeyCounts] = LruCache(
            "e2e_key_counts", KEY_COUNTS_CACHE_SIZE
        )
        # Bumped (with the counts forgotten) when a write to KEY_COUNT_TABLES
        # commits: a read that raced it does not remember what it found.
        self._generation = 0
        db.watch_writes(KEY_COUNT_TABLES, self._forget_counts, inserts=True)

    def _forget_counts(self) -> None:
        self._generation += 1
        self._counts.forget_all()

    async def upload(
        self,
        user_id: str,
        device_id: str,
        device_keys: JsonDict | None,
        one_time_keys: Sequence[OneTimeKey],
        fallback_keys: Sequence[OneTimeKey],
    ) -> DeviceKeysWrite | None:
        """Store one /keys/upload in one transaction.

        Device keys are written only if the device has none ("new"); the same
        keys again are "same"; other keys are "different" and nothing at all is
        written. A one-time key ID already stored with other contents raises
        KeyConflict (nothing written); with the same contents it is skipped.

        Returns:
            What happened to the device keys (None when none were given).
        """

        def upload_txn(txn: Transaction) -> DeviceKeysWrite | None:
            outcome: DeviceKeysWrite | None = None
            if device_keys is not None:
                outcome = _write_device_keys_txn(txn, user_id, device_id, device_keys)
                if outcome == "different":
                    return outcome
            _add_one_time_keys_txn(txn, user_id, device_id, one_time_keys)
            for key in fallback_keys:
                txn.execute(
                    "DELETE FROM e2e_fallback_keys"
                    " WHERE user_id = ? AND device_id = ? AND algorithm = ?",
                    (user_id, device_id, key.algorithm),
                )
                txn.execute(
                    "INSERT INTO e2e_fallback_keys"
                    " (user_id, device_id, algorithm, key_id, key_json, used)"
                    " VALUES (?, ?, ?, ?, ?, 0)",
                    (user_id, device_id, key.algorithm, key.key_id, _dump(key.key)),
                )
            return outcome

        return await self.db.run_interaction("e2e_keys_upload", upload_txn)

    async def get_device_keys(self, user_id: str, device_id: str) -> JsonDict | None:
        """One device's device keys, or None."""
        row = await self.db.run_interaction(
            "get_e2e_device_keys",
            lambda txn: txn.query_one(
                "SELECT key_json FROM e2e_device_keys"
                " WHERE user_id = ? AND device_id = ?",
                (user_id, device_id),
            ),
        )
        return json.loads(row.key_json) if row else None

    async def get_devices_with_keys(
        self, query: Mapping[str, Collection[str]]
    ) -> dict[str, dict[str, tuple[JsonDict | None, str | None]]]:
        """Devices of each user with their keys (None if none were uploaded)
        and display names: all of a user's devices when their list is empty.
        Users without devices are left out."""

        def txn_fn(
            txn: Transaction,
        ) -> dict[str, dict[str, tuple[JsonDict | None, str | None]]]:
            out: dict[str, dict[str, tuple[JsonDict | None, str | None]]] = {}
            rows = txn.query_in(
                "SELECT d.user_id, d.device_id, d.display_name, k.key_json"
                " FROM devices AS d LEFT JOIN e2e_device_keys AS k"
                " ON k.user_id = d.user_id AND k.device_id = d.device_id"
                " WHERE d.user_id IN (?*)",
                sorted(query),
            )
            for row in rows:
                wanted = query[row.user_id]
                if wanted and row.device_id not in wanted:
                    continue
                keys = json.loads(row.key_json) if row.key_json else None
                out.setdefault(row.user_id, {})[row.device_id] = (
                    keys,
                    row.display_name,
                )
            return out

        return await self.db.run_interaction("get_devices_with_keys", txn_fn)

    async def get_key_counts(
        self, user_id: str, device_id: str
    ) -> tuple[dict[str, int], list[str]]:
        """Unclaimed one-time keys by algorithm, and the algorithms whose
        fallback key was never handed out, in one transaction."""
        found = await self.get_key_counts_many([(user_id, device_id)])
        return found[(user_id, device_id)]

    def cached_key_counts(self, device: tuple[str, str]) -> _KeyCounts | None:
        """``get_key_counts`` of a (user, device) if remembered (a copy), with
        no wait: a woken /sync reads them without a turn of the reactor."""
        found = self._counts.get(device)
        if found is None:
            return None
        return dict(found[0]), list(found[1])

    async def get_key_counts_many(
        self, devices: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], _KeyCounts]:
        """``get_key_counts`` of each (user, device): remembered until a key
        is uploaded, claimed or deleted anywhere (every /sync answer carries
        them, and they change far less often); the others read in one
        transaction (two queries for all of them). The answers are the
        caller's to change."""
        wanted = set(devices)
        found = self._counts.get_many(wanted)
        missing = wanted.difference(found)
        if missing:
            generation = self._generation
            read = await self._read_key_counts(missing)
            if generation == self._generation:
                for device, counts in read.items():
                    self._counts.set(device, counts)
            found.update(read)
        return {
            d: (dict(counts), list(fallback)) for d, (counts, fallback) in found.items()
        }

    async def _read_key_counts(
        self, devices: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], _KeyCounts]:
        """The key counts of ``devices`` from the database."""
        wanted = sorted(devices)

        def txn_fn(
            txn: Transaction,
        ) -> dict[tuple[str, str], tuple[dict[str, int], list[str]]]:
            out: dict[tuple[str, str], tuple[dict[str, int], list[str]]] = {
                device: ({}, []) for device in wanted
            }
            for start in range(0, len(wanted), _DEVICE_BATCH):
                chunk = wanted[start : start + _DEVICE_BATCH]
                users = sorted({u for u, _ in chunk})
                devices = sorted({d for _, d in chunk})
                # Users and devices: a superset of the pairs, narrowed here.
                where = (
                    f"user_id IN {in_list(users)} AND device_id IN {in_list(devices)}"
                )
                for row in txn.query(
                    "SELECT user_id, device_id, algorithm, COUNT(*) AS n"
                    f" FROM e2e_one_time_keys WHERE {where}"
                    " GROUP BY user_id, device_id, algorithm",
                    (*users, *devices),
                ):
                    found = out.get((row.user_id, row.device_id))
                    if found is not None:
                        found[0][row.algorithm] = int(row.n)
                for row in txn.query(
                    "SELECT user_id, device_id, algorithm FROM e2e_fallback_keys"
                    f" WHERE used = 0 AND {where} ORDER BY algorithm",
                    (*users, *devices),
                ):
                    found = out.get((row.user_id, row.device_id))
                    if found is not None:
                        found[1].append(row.algorithm)
            return out

        return await self.db.run_interaction("get_e2e_key_counts", txn_fn)

    async def claim(self, wanted: Sequence[tuple[str, str, str]]) -> list[ClaimedKey]:
        """For each (user, device, algorithm): one one-time key, deleted as it
        is handed out, or else the fallback key (kept, marked used). A device
        with neither gets nothing."""

        def claim_txn(txn: Transaction) -> list[ClaimedKey]:
            out = []
            for user_id, device_id, algorithm in wanted:
                key = _claim_one_txn(txn, user_id, device_id, algorithm)
                if key is not None:
                    out.append(key)
            return out

        return await self.db.run_interaction("claim_e2e_one_time_keys", claim_txn)


class KeyConflict(Exception):
    """An uploaded one-time key reuses a stored key's ID with other contents."""

    def __init__(self, key_id: str) -> None:
        super().__init__(key_id)
        self.key_id = key_id


def _dump(key: JsonDict | str) -> str:
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


def _write_device_keys_txn(
    txn: Transaction, user_id: str, device_id: str, keys: JsonDict
) -> DeviceKeysWrite:
    row = txn.query_one(
        "SELECT key_json FROM e2e_device_keys WHERE user_id = ? AND device_id = ?",
        (user_id, device_id),
    )
    if row is None:
        txn.execute(
            "INSERT INTO e2e_device_keys (user_id, device_id, key_json) VALUES (?, ?, ?)",
            (user_id, device_id, _dump(keys)),
        )
        return "new"
    stored = json.loads(row.key_json)
    if _without_signatures(stored) != _without_signatures(keys):
        return "different"
    if stored != keys:
        # The same keys with other (more) signatures: keep the newest.
        txn.execute(
            "UPDATE e2e_device_keys SET key_json = ? WHERE user_id = ? AND device_id = ?",
            (_dump(keys), user_id, device_id),
        )
    return "same"


def _without_signatures(keys: JsonDict) -> JsonDict:
    return {k: v for k, v in keys.items() if k not in ("signatures", "unsigned")}


def _add_one_time_keys_txn(
    txn: Transaction, user_id: str, device_id: str, keys: Sequence[OneTimeKey]
) -> None:
    for key in keys:
        row = txn.query_one(
            "SELECT key_json FROM e2e_one_time_keys WHERE user_id = ?"
            " AND device_id = ? AND algorithm = ? AND key_id = ?",
            (user_id, device_id, key.algorithm, key.key_id),
        )
        if row is not None:
            if json.loads(row.key_json) != key.key:
                raise KeyConflict(f"{key.algorithm}:{key.key_id}")
            continue
        txn.execute(
            "INSERT INTO e2e_one_time_keys"
            " (user_id, device_id, algorithm, key_id, key_json) VALUES (?, ?, ?, ?, ?)",
            (user_id, device_id, key.algorithm, key.key_id, _dump(key.key)),
        )


def _claim_one_txn(
    txn: Transaction, user_id: str, device_id: str, algorithm: str
) -> ClaimedKey | None:
    while True:
        row = txn.query_one(
            "SELECT key_id, key_json FROM e2e_one_time_keys"
            " WHERE user_id = ? AND device_id = ? AND algorithm = ?"
            " ORDER BY key_id LIMIT 1",
            (user_id, device_id, algorithm),
        )
        if row is None:
            break
        txn.execute(
            "DELETE FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ?"
            " AND algorithm = ? AND key_id = ?",
            (user_id, device_id, algorithm, row.key_id),
        )
        if txn.rowcount == 1:
            return ClaimedKey(
                user_id, device_id, algorithm, row.key_id, json.loads(row.key_json)
            )
        # A racing claim took it first: try the next key.
    row = txn.query_one(
        "SELECT key_id, key_json FROM e2e_fallback_keys"
        " WHERE user_id = ? AND device_id = ? AND algorithm = ?",
        (user_id, device_id, algorithm),
    )
    if row is None:
        return None
    txn.execute(
        "UPDATE e2e_fallback_keys SET used = 1"
        " WHERE user_id = ? AND device_id = ? AND algorithm = ?",
        (user_id, device_id, algorithm),
    )
    return ClaimedKey(
        user_id, device_id, algorithm, row.key_id, json.loads(row.key_json)
    )
