"""Pushers: where each user's notifications are delivered, and how far each
pusher got (its position and failure state, so a restart resumes there).

Spec: client-server API v1.19, "Push Notifications" (``POST /pushers/set``).
Schema 0031.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import attrs

from homeserver.storage.database import Database, Transaction, in_list
from homeserver.types import JsonDict

_COLUMNS = (
    "id, user_id, device_id, kind, app_id, pushkey, app_display_name,"
    " device_display_name, profile_tag, lang, data, pushkey_ts,"
    " last_stream_ordering, last_success_ts, failing_since"
)


@attrs.frozen(kw_only=True)
class PusherRecord:
    """One stored pusher.

    Attributes:
        id: the row's ID (stable while the pusher exists; a pusher set again
            with the same app_id and pushkey keeps it).
        device_id: the device whose token set it (None: an application
            service acting without a device).
        data: the pusher's ``data`` (``url``, ``format``, ...).
        pushkey_ts: when the pushkey was set (ms), ``pushkey_ts`` of the push
            gateway API.
        last_stream_ordering: the last push action handled; the next to
            deliver comes after it.
        failing_since: when the current run of failures started (None:
            healthy).
    """

    id: int
    user_id: str
    device_id: str | None
    kind: str
    app_id: str
    pushkey: str
    app_display_name: str
    device_display_name: str
    profile_tag: str | None
    lang: str | None
    data: JsonDict
    pushkey_ts: int
    last_stream_ordering: int
    last_success_ts: int | None = None
    failing_since: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies a pusher: (user_id, app_id, pushkey)."""
        return (self.user_id, self.app_id, self.pushkey)

    def client_json(self) -> JsonDict:
        """The pusher as ``GET /pushers`` shows it."""
        return {
            "kind": self.kind,
            "app_id": self.app_id,
            "pushkey": self.pushkey,
            "app_display_name": self.app_display_name,
            "device_display_name": self.device_display_name,
            "profile_tag": self.profile_tag or "",
            "lang": self.lang or "",
            "data": self.data,
        }


@attrs.frozen(kw_only=True)
class NewPusher:
    """What ``POST /pushers/set`` stores (``upsert_pusher``)."""

    user_id: str
    device_id: str | None
    kind: str
    app_id: str
    pushkey: str
    app_display_name: str
    device_display_name: str
    profile_tag: str | None
    lang: str | None
    data: JsonDict


def _record(row: Any) -> PusherRecord:
    return PusherRecord(
        id=int(row.id),
        user_id=row.user_id,
        device_id=row.device_id,
        kind=row.kind,
        app_id=row.app_id,
        pushkey=row.pushkey,
        app_display_name=row.app_display_name,
        device_display_name=row.device_display_name,
        profile_tag=row.profile_tag,
        lang=row.lang,
        data=json.loads(row.data),
        pushkey_ts=int(row.pushkey_ts),
        last_stream_ordering=int(row.last_stream_ordering),
        last_success_ts=None
        if row.last_success_ts is None
        else int(row.last_success_ts),
        failing_since=None if row.failing_since is None else int(row.failing_since),
    )


def _select_txn(
    txn: Transaction, where: str, args: tuple[Any, ...]
) -> list[PusherRecord]:
    rows = txn.query(f"SELECT {_COLUMNS} FROM pushers WHERE {where} ORDER BY id", args)
    return [_record(r) for r in rows]


def _delete_txn(
    txn: Transaction, where: str, args: tuple[Any, ...]
) -> list[PusherRecord]:
    """Delete the pushers ``where`` selects; the records deleted."""
    found = _select_txn(txn, where, args)
    if found:
        ids = [p.id for p in found]
        txn.execute(f"DELETE FROM pushers WHERE id IN {in_list(ids)}", ids)
    return found


class PusherStore:
    """Reads and writes the ``pushers`` table.

    Args:
        db: the database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_pushers_by_user(self, user_id: str) -> list[PusherRecord]:
        """A user's pushers, oldest first."""
        return await self.db.run_interaction(
            "get_pushers_by_user", _select_txn, "user_id = ?", (user_id,)
        )

    async def get_all_pushers(self) -> list[PusherRecord]:
        """Every pusher (start-up)."""
        return await self.db.run_interaction(
            "get_all_pushers", _select_txn, "1 = 1", ()
        )

    async def upsert_pusher(
        self, new: NewPusher, *, now_ms: int, position: int
    ) -> PusherRecord:
        """Add the pusher, or replace the one with the same user, app_id and
        pushkey (keeping its ID). Either way it starts at ``position`` (no
        backlog is delivered) and healthy.

        Returns:
            The stored pusher.
        """

        def txn_fn(txn: Transaction) -> PusherRecord:
            values = (
                new.device_id,
                new.kind,
                new.app_display_name,
                new.device_display_name,
                new.profile_tag,
                new.lang,
                json.dumps(new.data),
                now_ms,
                position,
            )
            key = (new.user_id, new.app_id, new.pushkey)
            txn.execute(
                "UPDATE pushers SET device_id = ?, kind = ?, app_display_name = ?,"
                " device_display_name = ?, profile_tag = ?, lang = ?, data = ?,"
                " pushkey_ts = ?, last_stream_ordering = ?, failing_since = NULL"
                " WHERE user_id = ? AND app_id = ? AND pushkey = ?",
                values + key,
            )
            if not txn.rowcount:
                txn.execute(
                    "INSERT INTO pushers (user_id, app_id, pushkey, device_id, kind,"
                    " app_display_name, device_display_name, profile_tag, lang,"
                    " data, pushkey_ts, last_stream_ordering)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    key + values,
                )
            return _select_txn(txn, "user_id = ? AND app_id = ? AND pushkey = ?", key)[
                0
            ]

        return await self.db.run_interaction("upsert_pusher", txn_fn)

    async def delete_pusher(
        self, user_id: str, app_id: str, pushkey: str
    ) -> list[PusherRecord]:
        """Delete one pusher of a user; what was deleted (nothing if absent)."""
        return await self.db.run_interaction(
            "delete_pusher",
            _delete_txn,
            "user_id = ? AND app_id = ? AND pushkey = ?",
            (user_id, app_id, pushkey),
        )

    async def delete_pushers_of_other_users(
        self, app_id: str, pushkey: str, user_id: str
    ) -> list[PusherRecord]:
        """Delete the pushers of this app_id and pushkey that belong to
        anyone but ``user_id`` (``/pushers/set`` without ``append``)."""
        return await self.db.run_interaction(
            "delete_pushers_of_other_users",
            _delete_txn,
            "app_id = ? AND pushkey = ? AND user_id <> ?",
            (app_id, pushkey, user_id),
        )

    async def delete_pushers_of_devices(
        self, user_id: str, device_ids: Collection[str]
    ) -> list[PusherRecord]:
        """Delete the pushers these devices of the user set (logged out or
        deleted)."""
        if not device_ids:
            return []
        ids = list(device_ids)
        return await self.db.run_interaction(
            "delete_pushers_of_devices",
            _delete_txn,
            f"user_id = ? AND device_id IN {in_list(ids)}",
            (user_id, *ids),
        )

    async def delete_user_pushers(self, user_id: str) -> list[PusherRecord]:
        """Delete every pusher of the user (deactivation)."""
        return await self.db.run_interaction(
            "delete_user_pushers", _delete_txn, "user_id = ?", (user_id,)
        )

    async def update_pusher_progress(
        self,
        pusher_id: int,
        *,
        last_stream_ordering: int,
        failing_since: int | None,
        last_success_ts: int | None,
    ) -> bool:
        """Save how far a pusher got and whether it is failing.

        Returns:
            False when the pusher no longer exists (it was deleted meanwhile).
        """

        def txn_fn(txn: Transaction) -> bool:
            txn.execute(
                "UPDATE pushers SET last_stream_ordering = ?, failing_since = ?,"
                " last_success_ts = COALESCE(?, last_success_ts) WHERE id = ?",
                (last_stream_ordering, failing_since, last_success_ts, pusher_id),
            )
            return bool(txn.rowcount)

        return await self.db.run_interaction("update_pusher_progress", txn_fn)
