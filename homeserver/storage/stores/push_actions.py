"""Push actions: what each new event's push rules decided for each local user
(spec: client-server API, "Push Notifications"; docs/push.md, "Unread counts
and notifications").

Only notifying actions are stored, one row per (user, event), written in the
event's own persist transaction (``insert_push_actions_txn``), so whoever can
see the event's stream position sees its actions. A row is *unread* while its
stream ordering is after the user's newest ``m.read`` / ``m.read.private``
receipt in the room, unthreaded or for the row's thread (``main`` or the
thread root). Read rows are pruned after ``RETENTION_MS``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import attrs

from homeserver.storage.bulk_copy import copy_new_rows
from homeserver.storage.database import Database, Transaction, in_list
from homeserver.storage.rows import Row
from homeserver.storage.stores.receipts import UNTHREADED

MAIN = "main"
# The receipt types that read notifications (spec: "Receiving notifications").
READ_RECEIPT_TYPES = ("m.read", "m.read.private")
# Read actions older than this are pruned (Synapse keeps /notifications as long).
RETENTION_MS = 30 * 24 * 3600 * 1000
# Rows per INSERT statement (9 values each: under SQLite's oldest 999 limit).
_INSERT_BATCH = 100
_COLUMN_NAMES = (
    "user_id",
    "event_id",
    "room_id",
    "stream_ordering",
    "thread_id",
    "highlight",
    "actions",
    "received_ts",
)
_COLUMNS = ", ".join(_COLUMN_NAMES)
# The stream ordering the user has read up to for the row ``a``'s thread.
_READ_UPTO = (
    "COALESCE((SELECT MAX(r.event_stream_ordering) FROM receipts r"
    " WHERE r.user_id = a.user_id AND r.room_id = a.room_id"
    f" AND r.receipt_type IN {in_list(READ_RECEIPT_TYPES)}"
    " AND r.thread_id IN (?, a.thread_id)), 0)"
)
_READ_UPTO_ARGS = (*READ_RECEIPT_TYPES, UNTHREADED)


@attrs.frozen
class PushAction:
    """One stored notification of a user."""

    event_id: str
    room_id: str
    stream_ordering: int
    actions: list[Any]
    highlight: bool
    thread_id: str
    received_ts: int


@attrs.frozen
class UserActions:
    """What an event's rules decided for one user (notifying actions only)."""

    user_id: str
    actions: list[Any]
    highlight: bool


@attrs.frozen
class EventPushActions:
    """The notifying actions of one event, to be written with it."""

    event_id: str
    room_id: str
    thread_id: str
    received_ts: int
    users: tuple[UserActions, ...]


@attrs.frozen
class Notification:
    """An entry of GET /notifications: the action, and whether it is read."""

    action: PushAction
    read: bool


@attrs.frozen
class ReadPositions:
    """Where a user has read up to in one room.

    Args:
        main: the main timeline (unthreaded or ``main`` receipts, else the join).
        thread_default: threads without a receipt of their own (unthreaded
            receipts, else the join).
        threads: thread root -> its own position, where that is later.
    """

    main: int
    thread_default: int
    threads: Mapping[str, int] = attrs.field(factory=dict)


@attrs.frozen
class Counts:
    """Unread notifications and, of them, highlights."""

    notifications: int = 0
    highlights: int = 0


@attrs.frozen
class RoomCounts:
    """A room's unread counts: the main timeline and each thread with any."""

    main: Counts
    threads: dict[str, Counts]

    def total(self) -> Counts:
        """The whole room's counts (for clients without thread counts)."""
        every = [self.main, *self.threads.values()]
        return Counts(
            sum(c.notifications for c in every), sum(c.highlights for c in every)
        )


def insert_push_actions_txn(
    txn: Transaction,
    actions: EventPushActions,
    stream_ordering: int,
    *,
    new_event: bool = False,
) -> None:
    """Write an event's push actions (multi-row INSERTs, in the caller's
    transaction: the event's persist). ``new_event``: the event is being
    created now, so none of its rows can exist yet and many go in by COPY
    (``storage/bulk_copy.py``)."""
    # Most members share one rule's actions (the same list): each distinct
    # list is encoded once, not once per member.
    encoded: dict[int, str] = {}
    rows = []
    for u in actions.users:
        text = encoded.get(id(u.actions))
        if text is None:
            text = encoded[id(u.actions)] = json.dumps(u.actions)
        rows.append(
            (
                u.user_id,
                actions.event_id,
                actions.room_id,
                stream_ordering,
                actions.thread_id,
                1 if u.highlight else 0,
                text,
                actions.received_ts,
            )
        )
    if new_event and copy_new_rows(txn, "event_push_actions", _COLUMN_NAMES, rows):
        return
    for start in range(0, len(rows), _INSERT_BATCH):
        chunk = rows[start : start + _INSERT_BATCH]
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
        txn.execute_later(
            f"INSERT INTO event_push_actions ({_COLUMNS}) VALUES {values}"
            " ON CONFLICT (user_id, event_id) DO NOTHING",
            [v for row in chunk for v in row],
        )


def _action(row: Row) -> PushAction:
    return PushAction(
        event_id=row.event_id,
        room_id=row.room_id,
        stream_ordering=int(row.stream_ordering),
        actions=json.loads(row.actions),
        highlight=bool(row.highlight),
        thread_id=row.thread_id,
        received_ts=int(row.received_ts),
    )


class PushActionsStore:
    """Reads and prunes ``event_push_actions`` (the persister writes them).

    Args:
        db: the database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_unread_push_actions(
        self, user_id: str, *, after: int, upto: int, limit: int
    ) -> list[PushAction]:
        """The user's unread notifying actions with stream ordering in
        (after, upto], oldest first, at most ``limit``."""
        rows = await self.db.run_interaction(
            "get_unread_push_actions",
            lambda txn: txn.query(
                f"SELECT {_COLUMNS} FROM event_push_actions a WHERE a.user_id = ?"
                " AND a.stream_ordering > ? AND a.stream_ordering <= ?"
                f" AND a.stream_ordering > {_READ_UPTO}"
                " ORDER BY a.stream_ordering LIMIT ?",
                (user_id, after, upto, *_READ_UPTO_ARGS, limit),
            ),
        )
        return [_action(r) for r in rows]

    async def badge_count(self, user_id: str, *, by_room: bool) -> int:
        """The rooms with unread notifications (``by_room``), or the number of
        unread notifications."""
        what = "COUNT(DISTINCT a.room_id)" if by_room else "COUNT(*)"
        row = await self.db.run_interaction(
            "push_badge_count",
            lambda txn: txn.query_one(
                f"SELECT {what} AS n FROM event_push_actions a WHERE a.user_id = ?"
                f" AND a.stream_ordering > {_READ_UPTO}",
                (user_id, *_READ_UPTO_ARGS),
            ),
        )
        return int(row.n) if row else 0

    async def get_notifications(
        self, user_id: str, *, before: int | None, limit: int, only_highlight: bool
    ) -> list[Notification]:
        """The user's notifications, newest first, with stream ordering below
        ``before`` (None: from the newest), highlights only if asked."""
        clauses = ["a.user_id = ?"]
        args: list[Any] = [*_READ_UPTO_ARGS, user_id]
        if before is not None:
            clauses.append("a.stream_ordering < ?")
            args.append(before)
        if only_highlight:
            clauses.append("a.highlight = 1")
        rows = await self.db.run_interaction(
            "get_notifications",
            lambda txn: txn.query(
                f"SELECT {_COLUMNS}, {_READ_UPTO} AS read_upto"
                f" FROM event_push_actions a WHERE {' AND '.join(clauses)}"
                " ORDER BY a.stream_ordering DESC LIMIT ?",
                (*args, limit),
            ),
        )
        return [
            Notification(_action(r), int(r.stream_ordering) <= int(r.read_upto))
            for r in rows
        ]

    async def count_unread(
        self,
        user_id: str,
        positions: Mapping[str, ReadPositions],
        upto: int,
        *,
        not_senders: Collection[str] = (),
        any_hidden: bool = True,
    ) -> dict[str, RoomCounts]:
        """Each room's unread counts after its read positions, up to ``upto``:
        not of events from ``not_senders`` nor hidden by the user
        (``any_hidden`` False, when the caller knows there are none, skips
        that check)."""
        return await self.db.run_interaction(
            "sync_count_push_actions",
            count_unread_txn,
            user_id,
            positions,
            upto,
            not_senders,
            any_hidden,
        )

    async def delete_old_read_actions(self, older_than_ts: int) -> int:
        """Prune read actions received before ``older_than_ts``; how many."""

        def txn_fn(txn: Transaction) -> int:
            txn.execute(
                "DELETE FROM event_push_actions WHERE received_ts < ? AND"
                " stream_ordering <= COALESCE((SELECT MAX(r.event_stream_ordering)"
                " FROM receipts r WHERE r.user_id = event_push_actions.user_id"
                " AND r.room_id = event_push_actions.room_id"
                f" AND r.receipt_type IN {in_list(READ_RECEIPT_TYPES)} AND r.thread_id"
                " IN (?, event_push_actions.thread_id)), 0)",
                (older_than_ts, *_READ_UPTO_ARGS),
            )
            return txn.rowcount

        return await self.db.run_interaction("prune_push_actions", txn_fn)


def count_unread_txn(
    txn: Transaction,
    user_id: str,
    positions: Mapping[str, ReadPositions],
    upto: int,
    not_senders: Collection[str],
    any_hidden: bool,
) -> dict[str, RoomCounts]:
    """``PushActionsStore.count_unread`` in the caller's transaction."""
    where, extra = count_filters(sorted(not_senders), any_hidden)
    return {
        room_id: _room_counts_txn(txn, user_id, room_id, at, upto, where, extra)
        for room_id, at in positions.items()
    }


def count_filters(ignored: Sequence[str], any_hidden: bool) -> tuple[str, list[Any]]:
    """The ``AND ...`` conditions (and their arguments) that leave out the
    push action ``a`` of an event sent by one of ``ignored`` or, if
    ``any_hidden``, one its user hid."""
    where = ""
    args: list[Any] = []
    if ignored:
        where += (
            " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = a.event_id"
            f" AND e.sender IN {in_list(ignored)})"
        )
        args += ignored
    if any_hidden:
        where += (
            " AND NOT EXISTS (SELECT 1 FROM hidden_events h"
            " WHERE h.user_id = a.user_id AND h.event_id = a.event_id)"
        )
    return where, args


def _room_counts_txn(
    txn: Transaction,
    user_id: str,
    room_id: str,
    at: ReadPositions,
    upto: int,
    where: str,
    extra: list[Any],
) -> RoomCounts:
    sql = (
        "SELECT a.thread_id, COUNT(*) AS n, SUM(a.highlight) AS h"
        " FROM event_push_actions a WHERE a.user_id = ? AND a.room_id = ?"
        f" AND a.stream_ordering > ? AND a.stream_ordering <= ?{where}"
    )

    def grouped(after: int, thread: str | None = None) -> dict[str, Counts]:
        one = "" if thread is None else " AND a.thread_id = ?"
        rows = txn.query(
            f"{sql}{one} GROUP BY a.thread_id",
            [user_id, room_id, after, upto, *extra, *([thread] if thread else [])],
        )
        return {r.thread_id: Counts(int(r.n), int(r.h or 0)) for r in rows}

    lowest = min(at.main, at.thread_default)
    found = grouped(lowest)
    if at.main != lowest:
        found[MAIN] = grouped(at.main, MAIN).get(MAIN, Counts())
    threads = {t: c for t, c in found.items() if t != MAIN}
    if at.thread_default != lowest:
        threads = {t: c for t, c in grouped(at.thread_default).items() if t != MAIN}
    for thread_id, after in at.threads.items():
        if thread_id in threads and after > at.thread_default:
            threads[thread_id] = grouped(after, thread_id).get(thread_id, Counts())
    return RoomCounts(
        main=found.get(MAIN, Counts()),
        threads={t: c for t, c in threads.items() if c.notifications},
    )


def positions_from_receipts(
    receipts: Mapping[str, int], joined_at: int
) -> ReadPositions:
    """A room's ``ReadPositions`` from its receipt positions by thread ID
    (without any receipt, everything after the user's join is unread)."""
    if not receipts:
        # Most members of a big room never sent one.
        return ReadPositions(joined_at, joined_at)
    unthreaded = receipts.get(UNTHREADED)
    main_receipts = [p for t, p in receipts.items() if t in (UNTHREADED, MAIN)]
    main = max(main_receipts) if main_receipts else joined_at
    default = unthreaded if unthreaded is not None else joined_at
    threads = {
        t: max(p, unthreaded) if unthreaded is not None else p
        for t, p in receipts.items()
        if t not in (UNTHREADED, MAIN)
    }
    return ReadPositions(main, default, threads)
