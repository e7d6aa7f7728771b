"""What the user admin API reads and writes about accounts: the paginated,
filtered list, one account's details, and the flags only an admin sets
(shadow-banned, locked, erased, user type, reactivation); migration 0035."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row

_LAST_SEEN = "(SELECT MAX(d.last_seen_ts) FROM devices d WHERE d.user_id = u.user_id)"

# order_by of GET /_synapse/admin/v2/users -> the column it sorts on.
ORDER_COLUMNS = {
    "name": "u.user_id",
    "displayname": "p.displayname",
    "is_guest": "u.is_guest",
    "admin": "u.admin",
    "deactivated": "u.deactivated",
    "user_type": "u.user_type",
    "avatar_url": "p.avatar_url",
    "shadow_banned": "u.shadow_banned",
    "creation_ts": "u.created_ts",
    "last_seen_ts": _LAST_SEEN,
    "locked": "u.locked",
}

# order_by of GET /_synapse/admin/v1/statistics/users/media -> its column.
MEDIA_ORDER_COLUMNS = {
    "user_id": "m.user_id",
    "displayname": "p.displayname",
    "media_length": "COALESCE(SUM(m.media_length), 0)",
    "media_count": "COUNT(*)",
}

# The flags set_flag may change.
FLAGS = ("shadow_banned", "locked", "erased", "admin")

_SELECT = (
    "SELECT u.user_id, u.is_guest, u.admin, u.user_type, u.deactivated,"
    " u.erased, u.shadow_banned, u.locked, u.created_ts,"
    " p.displayname, p.avatar_url,"
    f" {_LAST_SEEN} AS last_seen_ts"
    " FROM users u LEFT JOIN profiles p ON p.user_id = u.user_id"
)


@attrs.frozen(kw_only=True)
class AdminUserRecord:
    """One account as the admin API shows it."""

    user_id: str
    is_guest: bool
    admin: bool
    user_type: str | None
    deactivated: bool
    erased: bool
    shadow_banned: bool
    locked: bool
    created_ts: int
    displayname: str | None
    avatar_url: str | None
    last_seen_ts: int | None


@attrs.frozen(kw_only=True)
class MediaUsage:
    """How much local media one user uploaded."""

    user_id: str
    displayname: str | None
    media_count: int
    media_length: int


@attrs.frozen(kw_only=True)
class MediaUsageQuery:
    """The filters, order and page of the users' media statistics."""

    start: int = 0
    limit: int = 100
    order_by: str = "user_id"
    backwards: bool = False
    from_ts: int | None = None
    until_ts: int | None = None
    search_term: str | None = None


@attrs.frozen(kw_only=True)
class UserQuery:
    """The filters, order and page of a user list.

    ``deactivated``/``admins``: None for both kinds, else only those whose
    flag is that value; ``guests``/``locked``: False leaves them out.
    ``not_user_types``: user types left out ("" for users without one).
    """

    start: int = 0
    limit: int = 100
    user_id: str | None = None
    name: str | None = None
    guests: bool = True
    deactivated: bool | None = False
    admins: bool | None = None
    locked: bool = False
    not_user_types: Sequence[str] = ()
    order_by: str = "name"
    backwards: bool = False


def _escaped(text: str) -> str:
    """``text`` lower-cased, its LIKE wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%")
    return escaped.replace("_", "\\_")


def _where(query: UserQuery) -> tuple[str, list[object]]:
    clauses: list[str] = []
    args: list[object] = []
    if query.name:
        # Localpart (the part of the ID before the ':') or display name.
        clauses.append(
            "(LOWER(u.user_id) LIKE ? ESCAPE '\\' OR LOWER(p.displayname) LIKE ?"
            " ESCAPE '\\')"
        )
        args += [f"@%{_escaped(query.name)}%:%", f"%{_escaped(query.name)}%"]
    elif query.user_id:
        clauses.append("LOWER(u.user_id) LIKE ? ESCAPE '\\'")
        args.append(f"%{_escaped(query.user_id)}%")
    if not query.guests:
        clauses.append("u.is_guest = ?")
        args.append(False)
    if query.deactivated is not None:
        clauses.append("u.deactivated = ?")
        args.append(query.deactivated)
    if query.admins is not None:
        clauses.append("u.admin = ?")
        args.append(query.admins)
    if not query.locked:
        clauses.append("u.locked = ?")
        args.append(False)
    types = [t for t in query.not_user_types if t]
    if types:
        marks = ", ".join("?" for _ in types)
        clauses.append(f"(u.user_type IS NULL OR u.user_type NOT IN ({marks}))")
        args += types
    if "" in query.not_user_types:
        clauses.append("u.user_type IS NOT NULL")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _record(row: Row) -> AdminUserRecord:
    return AdminUserRecord(
        user_id=row.user_id,
        is_guest=bool(row.is_guest),
        admin=bool(row.admin),
        user_type=row.user_type,
        deactivated=bool(row.deactivated),
        erased=bool(row.erased),
        shadow_banned=bool(row.shadow_banned),
        locked=bool(row.locked),
        created_ts=int(row.created_ts),
        displayname=row.displayname,
        avatar_url=row.avatar_url,
        last_seen_ts=None if row.last_seen_ts is None else int(row.last_seen_ts),
    )


class UserAdminStore:
    """The user admin API's reads and writes of ``users``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_users(self, query: UserQuery) -> tuple[list[AdminUserRecord], int]:
        """One page of the accounts that match, and how many match in all."""
        where, args = _where(query)
        column = ORDER_COLUMNS[query.order_by]
        direction = "DESC" if query.backwards else "ASC"
        # Nulls last either way, on both engines; then by user ID, so that
        # pages are stable (as Synapse).
        order = f" ORDER BY ({column} IS NULL), {column} {direction}, u.user_id ASC"

        def list_txn(txn: Transaction) -> tuple[list[AdminUserRecord], int]:
            count = txn.query_one(
                "SELECT COUNT(*) AS n FROM users u"
                " LEFT JOIN profiles p ON p.user_id = u.user_id" + where,
                args,
            )
            rows = txn.query(
                _SELECT + where + order + " LIMIT ? OFFSET ?",
                [*args, query.limit, query.start],
            )
            return [_record(r) for r in rows], int(count.n) if count else 0

        return await self.db.run_interaction("list_users_admin", list_txn)

    async def get_user(self, user_id: str) -> AdminUserRecord | None:
        """One account, or None."""
        row = await self.db.run_interaction(
            "get_user_admin",
            lambda txn: txn.query_one(_SELECT + " WHERE u.user_id = ?", (user_id,)),
        )
        return None if row is None else _record(row)

    async def set_flag(self, user_id: str, flag: str, value: bool) -> None:
        """Set one of ``FLAGS`` on an account."""
        if flag not in FLAGS:
            raise ValueError(f"not a flag: {flag}")
        await self.db.run_interaction(
            "set_user_flag",
            lambda txn: txn.execute(
                f"UPDATE users SET {flag} = ? WHERE user_id = ?", (value, user_id)
            ),
        )

    async def set_user_type(self, user_id: str, user_type: str | None) -> None:
        """Set or clear the account's user type."""
        await self.db.run_interaction(
            "set_user_type",
            lambda txn: txn.execute(
                "UPDATE users SET user_type = ? WHERE user_id = ?",
                (user_type, user_id),
            ),
        )

    async def reactivate(self, user_id: str) -> None:
        """Mark a deactivated account active again (no longer erased)."""
        await self.db.run_interaction(
            "reactivate_user",
            lambda txn: txn.execute(
                "UPDATE users SET deactivated = ?, erased = ? WHERE user_id = ?",
                (False, False, user_id),
            ),
        )

    async def is_shadow_banned(self, user_id: str) -> bool:
        """Whether the account is shadow-banned."""
        row = await self.db.run_interaction(
            "is_shadow_banned",
            lambda txn: txn.query_one(
                "SELECT shadow_banned FROM users WHERE user_id = ?", (user_id,)
            ),
        )
        return bool(row and row.shadow_banned)

    async def media_usage(self, query: MediaUsageQuery) -> tuple[list[MediaUsage], int]:
        """One page of the users who uploaded local media (in the time range,
        whose localpart or display name holds ``search_term``), and how many
        there are in all."""
        clauses: list[str] = []
        args: list[object] = []
        if query.from_ts is not None:
            clauses.append("m.created_ts >= ?")
            args.append(query.from_ts)
        if query.until_ts is not None:
            clauses.append("m.created_ts <= ?")
            args.append(query.until_ts)
        if query.search_term:
            term = _escaped(query.search_term)
            clauses.append(
                "(LOWER(m.user_id) LIKE ? ESCAPE '\\'"
                " OR LOWER(p.displayname) LIKE ? ESCAPE '\\')"
            )
            args += [f"@%{term}%:%", f"%{term}%"]
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        grouped = (
            "FROM local_media m LEFT JOIN profiles p ON p.user_id = m.user_id"
            f"{where} GROUP BY m.user_id, p.displayname"
        )
        direction = "DESC" if query.backwards else "ASC"
        order = MEDIA_ORDER_COLUMNS[query.order_by]

        def usage_txn(txn: Transaction) -> tuple[list[MediaUsage], int]:
            count = txn.query_one(
                f"SELECT COUNT(*) AS n FROM (SELECT m.user_id {grouped}) AS t", args
            )
            rows = txn.query(
                "SELECT m.user_id, p.displayname, COUNT(*) AS media_count,"
                f" COALESCE(SUM(m.media_length), 0) AS media_length {grouped}"
                f" ORDER BY {order} {direction}, m.user_id ASC LIMIT ? OFFSET ?",
                [*args, query.limit, query.start],
            )
            usage = [
                MediaUsage(
                    user_id=r.user_id,
                    displayname=r.displayname,
                    media_count=int(r.media_count),
                    media_length=int(r.media_length),
                )
                for r in rows
            ]
            return usage, int(count.n) if count else 0

        return await self.db.run_interaction("users_media_usage", usage_txn)
