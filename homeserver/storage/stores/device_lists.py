"""The device_lists stream: every change to a user's device list.

Local changes get their position here, which is also the ``stream_id`` of the
m.device_list_update EDU sent for them (``prev_id`` is the user's position
before). Remote users' updates get a position too, so /sync can tell local
users whose devices changed. A change to a user's cross-signing keys is a row
with the device ID '' (USER_ROW): it wakes syncs but is not part of the
m.device_list_update chain.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from contextlib import ExitStack

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.id_generators import StreamIdGenerator
from homeserver.types import JsonDict


@attrs.frozen
class DeviceListChange:
    """One recorded change: its position and the user's position before."""

    device_id: str
    stream_id: int
    prev_id: int | None


USER_ROW = ""


@attrs.frozen
class MembershipChange:
    """A membership event in a room the user has been in."""

    room_id: str
    user_id: str
    membership: str


class DeviceListStore:
    """Reads and writes the device_lists stream.

    Args:
        db: the database.
        stream_ids: the device_lists stream's generator (from the registry).
    """

    def __init__(self, db: Database, stream_ids: StreamIdGenerator) -> None:
        self.db = db
        self.stream_ids = stream_ids

    async def add_changes(
        self, user_id: str, device_ids: Collection[str]
    ) -> list[DeviceListChange]:
        """Record a change to each device, each at its own position."""

        def txn_fn(txn: Transaction, ids: list[int]) -> list[DeviceListChange]:
            row = txn.query_one(
                "SELECT MAX(stream_id) AS stream_id FROM device_lists_stream"
                " WHERE user_id = ? AND device_id != ?",
                (user_id, USER_ROW),
            )
            prev = int(row.stream_id) if row and row.stream_id is not None else None
            out = []
            for device_id, stream_id in zip(device_ids, ids, strict=True):
                txn.execute(
                    "INSERT INTO device_lists_stream (stream_id, user_id, device_id)"
                    " VALUES (?, ?, ?)",
                    (stream_id, user_id, device_id),
                )
                out.append(DeviceListChange(device_id, stream_id, prev))
                if device_id != USER_ROW:
                    prev = stream_id
            return out

        with ExitStack() as stack:
            ids = [stack.enter_context(self.stream_ids.allocate()) for _ in device_ids]
            return await self.db.run_interaction("add_device_list_changes", txn_fn, ids)

    async def keep_undelivered(self, change: JsonDict, now_ms: int) -> None:
        """Store a change this process could not hand to the stream's writer
        (worker deployments), for the writer to record later."""
        await self.db.run_interaction(
            "keep_device_list_undelivered",
            lambda txn: txn.execute(
                "INSERT INTO device_list_undelivered (change_id, stored_ts, change)"
                " VALUES (?, ?, ?)",
                (uuid.uuid4().hex, now_ms, json.dumps(change)),
            ),
        )

    async def get_undelivered(self) -> list[tuple[str, JsonDict]]:
        """The stored changes (``keep_undelivered``), oldest first."""
        rows = await self.db.run_interaction(
            "get_device_list_undelivered",
            lambda txn: txn.query(
                "SELECT change_id, change FROM device_list_undelivered"
                " ORDER BY stored_ts, change_id"
            ),
        )
        return [(r.change_id, json.loads(r.change)) for r in rows]

    async def delete_undelivered(self, change_id: str) -> None:
        """A stored change has been recorded."""
        await self.db.run_interaction(
            "delete_device_list_undelivered",
            lambda txn: txn.execute(
                "DELETE FROM device_list_undelivered WHERE change_id = ?",
                (change_id,),
            ),
        )

    async def get_latest_stream_id(self, user_id: str) -> int:
        """The user's newest position (0 if their devices never changed)."""
        row = await self.db.run_interaction(
            "get_device_list_latest",
            lambda txn: txn.query_one(
                "SELECT MAX(stream_id) AS stream_id FROM device_lists_stream"
                " WHERE user_id = ? AND device_id != ?",
                (user_id, USER_ROW),
            ),
        )
        return int(row.stream_id) if row and row.stream_id is not None else 0

    async def get_changed_users(self, since: int, upto: int) -> set[str]:
        """Users with a change in (since, upto]."""
        rows = await self.db.run_interaction(
            "get_device_list_changed_users",
            lambda txn: txn.query(
                "SELECT DISTINCT user_id FROM device_lists_stream"
                " WHERE stream_id > ? AND stream_id <= ?",
                (since, upto),
            ),
        )
        return {r.user_id for r in rows}

    async def get_remote_stream_id(self, user_id: str) -> int | None:
        """The last m.device_list_update stream_id seen for a remote user."""
        row = await self.db.run_interaction(
            "get_device_list_remote",
            lambda txn: txn.query_one(
                "SELECT stream_id FROM device_lists_remote WHERE user_id = ?",
                (user_id,),
            ),
        )
        return int(row.stream_id) if row else None

    async def set_remote_stream_id(self, user_id: str, stream_id: int) -> None:
        """Remember a remote user's latest m.device_list_update stream_id."""
        await self.db.run_interaction(
            "set_device_list_remote",
            lambda txn: txn.execute(
                "INSERT INTO device_lists_remote (user_id, stream_id) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET stream_id = excluded.stream_id",
                (user_id, stream_id),
            ),
        )

    async def get_membership_changes(
        self, user_id: str, since: int, upto: int
    ) -> list[MembershipChange]:
        """Membership events at events positions in (since, upto] in rooms
        the user has a membership in."""
        rows = await self.db.run_interaction(
            "get_membership_changes_for_device_lists",
            lambda txn: txn.query(
                "SELECT m.room_id, m.user_id, m.membership FROM room_memberships AS m"
                " WHERE m.stream_ordering > ? AND m.stream_ordering <= ?"
                " AND m.room_id IN"
                " (SELECT room_id FROM room_memberships WHERE user_id = ?)"
                " ORDER BY m.stream_ordering",
                (since, upto, user_id),
            ),
        )
        return [MembershipChange(*r) for r in rows]

    async def get_joined_members(self, room_ids: Collection[str]) -> set[str]:
        """Everyone joined to one of ``room_ids`` now."""
        rows = await self.db.run_interaction(
            "get_joined_members_for_device_lists",
            lambda txn: txn.query_in(
                "SELECT DISTINCT state_key FROM current_state_events"
                " WHERE room_id IN (?*) AND type = 'm.room.member'"
                " AND membership = 'join'",
                sorted(set(room_ids)),
            ),
        )
        return {r.state_key for r in rows}
