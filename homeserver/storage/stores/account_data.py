"""Account data, global and per room (room tags are the per-room ``m.tag``).

Every write takes a new position on the account_data stream, so /sync can ask
for exactly what changed between two positions.

The store caches single global reads (``get_account_data`` with ``GLOBAL``):
every /sync pass and every read path reads the user's ``m.ignored_user_list``
(``PersonalFilter``), which rarely changes. Its own writes invalidate it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection

from homeserver.storage.database import Database, Transaction
from homeserver.storage.id_generators import StreamIdGenerator
from homeserver.storage.rows import Row
from homeserver.types import JsonDict
from homeserver.util.caches import LruCache

# The room_id column of global account data.
GLOBAL = ""

ContentUpdate = Callable[[JsonDict | None], JsonDict | None]
GLOBAL_CACHE_SIZE = 50_000
# The cached JSON text of a type that is not set: it parses to None.
_UNSET = "null"


def _upsert_txn(
    txn: Transaction,
    user_id: str,
    room_id: str,
    data_type: str,
    content: JsonDict,
    stream_id: int,
) -> None:
    txn.execute(
        "INSERT INTO account_data (user_id, room_id, type, content, stream_id)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, room_id, type)"
        " DO UPDATE SET content = excluded.content, stream_id = excluded.stream_id",
        (user_id, room_id, data_type, json.dumps(content), stream_id),
    )


def _get_text_txn(txn: Transaction, user_id: str, room_id: str, data_type: str) -> str:
    """The stored JSON text of one type of account data (``_UNSET`` if unset)."""
    row = txn.query_one(
        "SELECT content FROM account_data"
        " WHERE user_id = ? AND room_id = ? AND type = ?",
        (user_id, room_id, data_type),
    )
    return str(row.content) if row else _UNSET


def _get_txn(
    txn: Transaction, user_id: str, room_id: str, data_type: str
) -> JsonDict | None:
    return json.loads(_get_text_txn(txn, user_id, room_id, data_type))  # type: ignore[no-any-return]


class AccountDataStore:
    """Reads and writes account data; owns the account_data stream position.

    Args:
        db: the database.
        stream_ids: the account_data stream's ID generator.
    """

    def __init__(self, db: Database, stream_ids: StreamIdGenerator) -> None:
        self.db = db
        self.stream_ids = stream_ids
        # (user, type) -> the JSON text of that global account data. Text, not
        # the parsed dict, so that no caller can change what others read.
        self._global: LruCache[tuple[str, str], str] = LruCache(
            "global_account_data", GLOBAL_CACHE_SIZE
        )
        # Bumped on every write: a read that began before a write does not
        # cache what it found (it may predate the write).
        self._generation = 0

    @property
    def cache(self) -> LruCache[tuple[str, str], str]:
        """Global account data by (user, type) (shared between processes)."""
        return self._global

    def forget_replicated(self, keys: list[tuple[str, str]]) -> None:
        """Another process wrote these (user, type) keys (none: any)."""
        self._generation += 1
        self._global.forget_keys(keys)

    def _invalidate(self, user_id: str, room_id: str, data_type: str) -> None:
        self._generation += 1
        if room_id == GLOBAL:
            self._global.invalidate((user_id, data_type))

    async def upsert_account_data(
        self, user_id: str, room_id: str, data_type: str, content: JsonDict
    ) -> int:
        """Set one type of account data (``room_id`` GLOBAL for global).

        Returns:
            The account_data stream position of the write.
        """

        def upsert_txn(txn: Transaction, stream_id: int) -> None:
            _upsert_txn(txn, user_id, room_id, data_type, content, stream_id)
            txn.call_after(lambda: self._invalidate(user_id, room_id, data_type))

        with self.stream_ids.allocate() as stream_id:
            await self.db.run_interaction("upsert_account_data", upsert_txn, stream_id)
        return stream_id

    async def update_account_data(
        self, user_id: str, room_id: str, data_type: str, update: ContentUpdate
    ) -> int | None:
        """Read-modify-write one type of account data in one transaction.

        Args:
            update: given the current content (None if unset), returns the new
                content, or None to leave it as it is.

        Returns:
            The stream position of the write, or None if nothing was written.
        """

        def update_txn(txn: Transaction, stream_id: int) -> bool:
            new = update(_get_txn(txn, user_id, room_id, data_type))
            if new is None:
                return False
            _upsert_txn(txn, user_id, room_id, data_type, new, stream_id)
            txn.call_after(lambda: self._invalidate(user_id, room_id, data_type))
            return True

        with self.stream_ids.allocate() as stream_id:
            written = await self.db.run_interaction(
                "update_account_data", update_txn, stream_id
            )
        return stream_id if written else None

    async def get_account_data(
        self, user_id: str, room_id: str, data_type: str
    ) -> JsonDict | None:
        """The content of one type of account data, or None if unset (global
        data is cached)."""
        if room_id != GLOBAL:
            return await self.db.run_interaction(
                "get_account_data", _get_txn, user_id, room_id, data_type
            )
        key = (user_id, data_type)
        text = self._global.get(key)
        if text is None:
            generation = self._generation
            text = await self.db.run_interaction(
                "get_account_data", _get_text_txn, user_id, room_id, data_type
            )
            if generation == self._generation:
                self._global.set(key, text)
        return json.loads(text)  # type: ignore[no-any-return]

    async def get_all_of_user(self, user_id: str) -> JsonDict:
        """All of a user's account data: ``{"global": {type: content},
        "rooms": {room: {type: content}}}`` (the user admin API's shape)."""
        rows = await self.db.run_interaction(
            "get_all_account_data_of_user",
            lambda txn: txn.query(
                "SELECT room_id, type, content FROM account_data WHERE user_id = ?"
                " ORDER BY room_id, type",
                (user_id,),
            ),
        )
        found: JsonDict = {"global": {}, "rooms": {}}
        for row in rows:
            content = json.loads(row.content)
            if row.room_id == GLOBAL:
                found["global"][row.type] = content
            else:
                found["rooms"].setdefault(row.room_id, {})[row.type] = content
        return found

    async def delete_all_of_user(self, user_id: str) -> None:
        """Forget all of a deactivated user's account data (as Synapse does:
        ignored users, secret storage, direct chats, tags, ...)."""

        def delete_txn(txn: Transaction) -> None:
            rows = txn.query(
                "SELECT room_id, type FROM account_data WHERE user_id = ?", (user_id,)
            )
            txn.execute("DELETE FROM account_data WHERE user_id = ?", (user_id,))
            keys = [(str(row.room_id), str(row.type)) for row in rows]

            def invalidate() -> None:
                for room_id, data_type in keys:
                    self._invalidate(user_id, room_id, data_type)

            txn.call_after(invalidate)

        await self.db.run_interaction("delete_all_account_data_of_user", delete_txn)

    async def get_global_of_type(self, data_type: str) -> dict[str, JsonDict]:
        """Every user's global account data of one type: user -> content (for
        types few users set, such as ``m.ignored_user_list``)."""
        rows = await self.db.run_interaction(
            "get_global_account_data_of_type",
            lambda txn: txn.query(
                "SELECT user_id, content FROM account_data"
                " WHERE room_id = ? AND type = ?",
                (GLOBAL, data_type),
            ),
        )
        return {str(r.user_id): json.loads(r.content) for r in rows}

    async def get_global_changes(
        self, user_id: str, since: int | None, upto: int
    ) -> dict[str, JsonDict]:
        """Global account data written in (since, upto]: type -> content.

        ``since`` None means from the beginning (everything set up to ``upto``).
        """
        rows = await self.db.run_interaction(
            "get_global_account_data_changes",
            lambda txn: txn.query(
                "SELECT type, content FROM account_data"
                " WHERE user_id = ? AND room_id = ? AND stream_id > ?"
                " AND stream_id <= ? ORDER BY stream_id",
                (user_id, GLOBAL, -1 if since is None else since, upto),
            ),
        )
        return {str(r.type): json.loads(r.content) for r in rows}

    async def get_room_changes(
        self,
        user_id: str,
        room_ids: Collection[str] | None,
        since: int | None,
        upto: int,
    ) -> dict[str, dict[str, JsonDict]]:
        """Room account data written in (since, upto]: room -> type -> content.

        Args:
            room_ids: only these rooms; None for every room.
            since: None means from the beginning.
        """
        low = -1 if since is None else since
        base = (
            "SELECT room_id, type, content FROM account_data"
            " WHERE user_id = ? AND room_id != ? AND stream_id > ? AND stream_id <= ?"
        )

        def changes_txn(txn: Transaction) -> list[Row]:
            args = (user_id, GLOBAL, low, upto)
            if room_ids is None:
                return txn.query(base + " ORDER BY stream_id", args)
            # Each room's rows come in one batch, in stream order.
            return txn.query_in(
                base + " AND room_id IN (?*) ORDER BY stream_id",
                sorted(set(room_ids)),
                args,
            )

        found: dict[str, dict[str, JsonDict]] = {}
        if room_ids is not None and not room_ids:
            return found
        rows = await self.db.run_interaction(
            "get_room_account_data_changes", changes_txn
        )
        for row in rows:
            found.setdefault(str(row.room_id), {})[str(row.type)] = json.loads(
                row.content
            )
        return found
