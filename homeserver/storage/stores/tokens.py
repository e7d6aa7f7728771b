"""Access, refresh and login tokens, stored only as SHA-256 hashes."""

from __future__ import annotations

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.util.caches import LruCache

# Access tokens remembered (hash -> what it grants, when read).
TOKEN_CACHE_SIZE = 10_000
# A remembered token is read again after this long: the bound on how long a
# change by another process that writes the database (none while the server
# runs but synctl, whose own tokens are never remembered) goes unseen.
TOKEN_CACHE_TTL_MS = 60_000
# synctl's session device (cli/admin_session.py): synctl writes and deletes
# these tokens from its own process, which this one's cache cannot hear of.
UNCACHED_DEVICES = frozenset({"SYNCTL"})
# Tables whose every UPDATE/DELETE (by any code path) empties the cache: the
# lookup joins access_tokens with users.
TOKEN_TABLES = ("access_tokens", "users", "refresh_tokens")


@attrs.frozen
class AccessTokenInfo:
    """What an access token grants, joined with its account."""

    token_hash: str
    user_id: str
    device_id: str
    valid_until_ts: int | None
    refresh_token_hash: str | None
    used: bool
    admin: bool
    deactivated: bool
    is_guest: bool = False
    locked: bool = False
    shadow_banned: bool = False


@attrs.frozen
class RefreshTokenInfo:
    """A refresh token and the token that replaced it, if any."""

    token_hash: str
    user_id: str
    device_id: str
    expiry_ts: int | None
    next_token_hash: str | None


class TokenStore:
    """Reads and writes tokens."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: LruCache[str, tuple[AccessTokenInfo, int]] = LruCache(
            "access_tokens", TOKEN_CACHE_SIZE
        )
        # Bumped (with the cache emptied) when a change to TOKEN_TABLES
        # commits: a lookup that raced it does not remember what it read.
        self._generation = 0
        db.watch_writes(TOKEN_TABLES, self.forget_tokens)

    def forget_tokens(self) -> None:
        """Forget every remembered token (a token or account changed)."""
        self._generation += 1
        self._cache.clear()

    async def get_access_token_cached(
        self, token_hash: str, now_ms: int
    ) -> AccessTokenInfo | None:
        """``get_access_token``, remembered for up to TOKEN_CACHE_TTL_MS and
        forgotten when any access token, refresh token or account row
        changes. The caller checks expiry (``valid_until_ts``) on every
        use; unknown tokens are not remembered."""
        hit = self._cache.get(token_hash)
        if hit is not None and now_ms - hit[1] < TOKEN_CACHE_TTL_MS:
            return hit[0]
        generation = self._generation
        info = await self.get_access_token(token_hash)
        if (
            info is not None
            and generation == self._generation
            and info.device_id not in UNCACHED_DEVICES
        ):
            self._cache.set(token_hash, (info, now_ms))
        return info

    async def insert_access_token(
        self,
        token_hash: str,
        user_id: str,
        device_id: str,
        now_ms: int,
        valid_until_ts: int | None,
        refresh_token_hash: str | None = None,
    ) -> None:
        """Store a new access token."""
        await self.db.run_interaction(
            "insert_access_token",
            lambda txn: _insert_access_token_txn(
                txn,
                token_hash,
                user_id,
                device_id,
                now_ms,
                valid_until_ts,
                refresh_token_hash,
            ),
        )

    async def get_access_token(self, token_hash: str) -> AccessTokenInfo | None:
        """Look a token up by its hash."""
        row = await self.db.run_interaction(
            "get_access_token",
            lambda txn: txn.query_one(
                "SELECT t.token_hash, t.user_id, t.device_id, t.valid_until_ts,"
                " t.refresh_token_hash, t.used, u.admin, u.deactivated, u.is_guest,"
                " u.locked, u.shadow_banned"
                " FROM access_tokens t JOIN users u ON u.user_id = t.user_id"
                " WHERE t.token_hash = ?",
                (token_hash,),
            ),
        )
        if row is None:
            return None
        return AccessTokenInfo(
            row.token_hash,
            row.user_id,
            row.device_id,
            row.valid_until_ts,
            row.refresh_token_hash,
            bool(row.used),
            bool(row.admin),
            bool(row.deactivated),
            bool(row.is_guest),
            bool(row.locked),
            bool(row.shadow_banned),
        )

    async def mark_access_token_used(self, info: AccessTokenInfo) -> None:
        """First use of a refreshed access token: its predecessor refresh token dies."""

        def mark_used_txn(txn: Transaction) -> None:
            txn.execute(
                "UPDATE access_tokens SET used = ? WHERE token_hash = ?",
                (True, info.token_hash),
            )
            if info.refresh_token_hash:
                _retire_predecessors_txn(txn, info.refresh_token_hash)

        await self.db.run_interaction("mark_access_token_used", mark_used_txn)

    async def delete_access_token(self, token_hash: str) -> None:
        """Revoke one access token."""
        await self.db.run_interaction(
            "delete_access_token",
            lambda txn: txn.execute(
                "DELETE FROM access_tokens WHERE token_hash = ?", (token_hash,)
            ),
        )

    async def insert_refresh_token(
        self,
        token_hash: str,
        user_id: str,
        device_id: str,
        now_ms: int,
        expiry_ts: int | None,
    ) -> None:
        """Store a new refresh token."""
        await self.db.run_interaction(
            "insert_refresh_token",
            lambda txn: txn.execute(
                "INSERT INTO refresh_tokens (token_hash, user_id, device_id, created_ts,"
                " expiry_ts) VALUES (?, ?, ?, ?, ?)",
                (token_hash, user_id, device_id, now_ms, expiry_ts),
            ),
        )

    async def get_refresh_token(self, token_hash: str) -> RefreshTokenInfo | None:
        """Look a refresh token up by its hash."""
        row = await self.db.run_interaction(
            "get_refresh_token",
            lambda txn: txn.query_one(
                "SELECT token_hash, user_id, device_id, expiry_ts, next_token_hash"
                " FROM refresh_tokens WHERE token_hash = ?",
                (token_hash,),
            ),
        )
        return RefreshTokenInfo(**row._asdict()) if row else None

    async def rotate_refresh_token(
        self,
        old: RefreshTokenInfo,
        new_refresh_hash: str,
        new_access_hash: str,
        now_ms: int,
        refresh_expiry_ts: int | None,
        access_valid_until_ts: int,
    ) -> bool:
        """Replace ``old`` with a new refresh/access token pair, atomically.

        The old refresh token stays usable until the new pair is used (spec:
        "Refreshing access tokens"); refreshing it again replaces the unused pair.

        Returns:
            False if ``old`` was retired meanwhile.
        """

        def rotate_txn(txn: Transaction) -> bool:
            row = txn.query_one(
                "SELECT next_token_hash FROM refresh_tokens WHERE token_hash = ?",
                (old.token_hash,),
            )
            if row is None:
                return False
            if row.next_token_hash is not None:
                # Replace the unused successor pair.
                txn.execute(
                    "DELETE FROM access_tokens WHERE refresh_token_hash = ?",
                    (row.next_token_hash,),
                )
                txn.execute(
                    "DELETE FROM refresh_tokens WHERE token_hash = ?",
                    (row.next_token_hash,),
                )
            txn.execute(
                "INSERT INTO refresh_tokens (token_hash, user_id, device_id, created_ts,"
                " expiry_ts) VALUES (?, ?, ?, ?, ?)",
                (
                    new_refresh_hash,
                    old.user_id,
                    old.device_id,
                    now_ms,
                    refresh_expiry_ts,
                ),
            )
            txn.execute(
                "UPDATE refresh_tokens SET next_token_hash = ? WHERE token_hash = ?",
                (new_refresh_hash, old.token_hash),
            )
            _insert_access_token_txn(
                txn,
                new_access_hash,
                old.user_id,
                old.device_id,
                now_ms,
                access_valid_until_ts,
                new_refresh_hash,
            )
            return True

        return await self.db.run_interaction("rotate_refresh_token", rotate_txn)

    async def retire_predecessors(self, refresh_token_hash: str) -> None:
        """Using a refresh token retires the one it replaced."""
        await self.db.run_interaction(
            "retire_refresh_predecessors",
            lambda txn: _retire_predecessors_txn(txn, refresh_token_hash),
        )

    async def delete_user_tokens(
        self, user_id: str, except_token_hash: str | None = None
    ) -> None:
        """Revoke every access and refresh token of a user but one access token."""

        def delete_tokens_txn(txn: Transaction) -> None:
            txn.execute(
                "DELETE FROM access_tokens WHERE user_id = ? AND token_hash != ?",
                (user_id, except_token_hash or ""),
            )

        await self.db.run_interaction("delete_user_tokens", delete_tokens_txn)

    async def insert_login_token(
        self, token_hash: str, user_id: str, expiry_ts: int
    ) -> None:
        """Store a one-time login token."""
        await self.db.run_interaction(
            "insert_login_token",
            lambda txn: txn.execute(
                "INSERT INTO login_tokens (token_hash, user_id, expiry_ts) VALUES (?, ?, ?)",
                (token_hash, user_id, expiry_ts),
            ),
        )

    async def consume_login_token(self, token_hash: str, now_ms: int) -> str | None:
        """Use a login token once; returns its user if it was valid."""

        def consume_txn(txn: Transaction) -> str | None:
            row = txn.query_one(
                "SELECT user_id, expiry_ts FROM login_tokens WHERE token_hash = ?",
                (token_hash,),
            )
            txn.execute(
                "DELETE FROM login_tokens WHERE token_hash = ? OR expiry_ts < ?",
                (token_hash, now_ms),
            )
            if row is None or row.expiry_ts < now_ms:
                return None
            return str(row.user_id)

        return await self.db.run_interaction("consume_login_token", consume_txn)


def _insert_access_token_txn(
    txn: Transaction,
    token_hash: str,
    user_id: str,
    device_id: str,
    now_ms: int,
    valid_until_ts: int | None,
    refresh_token_hash: str | None,
) -> None:
    txn.execute(
        "INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts,"
        " valid_until_ts, refresh_token_hash) VALUES (?, ?, ?, ?, ?, ?)",
        (token_hash, user_id, device_id, now_ms, valid_until_ts, refresh_token_hash),
    )


def _retire_predecessors_txn(txn: Transaction, refresh_token_hash: str) -> None:
    for row in txn.query(
        "SELECT token_hash FROM refresh_tokens WHERE next_token_hash = ?",
        (refresh_token_hash,),
    ):
        txn.execute(
            "DELETE FROM access_tokens WHERE refresh_token_hash = ?", (row.token_hash,)
        )
        txn.execute(
            "DELETE FROM refresh_tokens WHERE token_hash = ?", (row.token_hash,)
        )
