"""Thread-aware unread counts for /sync (spec: "Receiving notifications",
threaded read receipts): the main timeline's count without thread replies,
and one count per thread, each after its own read position."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import attrs

from homeserver.events.relations import RelationTypes
from homeserver.storage.database import Database, Transaction, in_list
from homeserver.storage.stores.receipts import UNTHREADED
from homeserver.storage.stores.stream import VISIBLE, VISIBLE_ARGS
from homeserver.storage.stores.sync import COUNTED_TYPES

MAIN = "main"

_IN_THREAD = (
    "EXISTS (SELECT 1 FROM event_relations t WHERE t.event_id = e.event_id"
    " AND t.rel_type = ?)"
)


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
class UnreadCounts:
    """A room's unread counts: the main timeline and each thread with any."""

    main: int
    threads: dict[str, int]


class ThreadUnreadStore:
    """Receipt positions per thread and the counts after them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_receipt_positions(
        self, user_id: str, room_ids: Collection[str], receipt_types: Collection[str]
    ) -> dict[str, dict[str, int]]:
        """room -> thread ID ("" unthreaded, "main", a root) -> the newest
        receipted event's stream ordering."""
        rooms = sorted(room_ids)
        types = sorted(receipt_types)
        rows = await self.db.run_interaction(
            "thread_receipt_positions",
            lambda txn: txn.query_in(
                "SELECT room_id, thread_id, MAX(event_stream_ordering) AS pos"
                " FROM receipts WHERE user_id = ? AND room_id IN (?*)"
                f" AND receipt_type IN {in_list(types)} GROUP BY room_id, thread_id",
                rooms,
                (user_id, *types),
            ),
        )
        out: dict[str, dict[str, int]] = {}
        for row in rows:
            if row.pos is not None:
                out.setdefault(row.room_id, {})[row.thread_id] = int(row.pos)
        return out

    async def count_unread(
        self,
        user_id: str,
        positions: Mapping[str, ReadPositions],
        upto: int,
        not_senders: Collection[str] = (),
        any_hidden: bool = True,
    ) -> dict[str, UnreadCounts]:
        """Counted messages from others after each position (not from
        ``not_senders``, nor hidden by the user: ``any_hidden`` False, when the
        caller knows there are none, skips that check), split by thread."""
        ignored = sorted(not_senders)

        def txn_fn(txn: Transaction) -> dict[str, UnreadCounts]:
            return {
                room_id: _room_counts_txn(
                    txn, user_id, room_id, at, upto, ignored, any_hidden
                )
                for room_id, at in positions.items()
            }

        return await self.db.run_interaction("sync_count_thread_unread", txn_fn)


def _room_counts_txn(
    txn: Transaction,
    user_id: str,
    room_id: str,
    at: ReadPositions,
    upto: int,
    ignored: list[str],
    any_hidden: bool,
) -> UnreadCounts:
    not_ignored = f" AND e.sender NOT IN {in_list(ignored)}" if ignored else ""
    not_hidden = (
        " AND NOT EXISTS (SELECT 1 FROM hidden_events h"
        " WHERE h.user_id = ? AND h.event_id = e.event_id)"
        if any_hidden
        else ""
    )
    counted = (
        f" WHERE e.room_id = ? AND {VISIBLE}"
        " AND e.stream_ordering > ? AND e.stream_ordering <= ? AND e.sender != ?"
        f" AND e.type IN {in_list(COUNTED_TYPES)} AND e.state_key IS NULL"
        f"{not_ignored}{not_hidden}"
    )
    in_threads = " FROM events e JOIN event_relations t ON t.event_id = e.event_id"

    def args(after: int) -> list[object]:
        return [
            room_id,
            *VISIBLE_ARGS,
            after,
            upto,
            user_id,
            *COUNTED_TYPES,
            *ignored,
            *([user_id] if any_hidden else []),
        ]

    row = txn.query_one(
        f"SELECT COUNT(*) AS n FROM events e{counted} AND NOT {_IN_THREAD}",
        [*args(at.main), RelationTypes.THREAD],
    )
    main = int(row.n) if row else 0
    threads: dict[str, int] = {}
    for row in txn.query(
        f"SELECT t.relates_to_id AS thread_id, COUNT(*) AS n{in_threads}{counted}"
        " AND t.rel_type = ? GROUP BY t.relates_to_id",
        [*args(at.thread_default), RelationTypes.THREAD],
    ):
        threads[row.thread_id] = int(row.n)
    for thread_id, after in at.threads.items():
        if thread_id not in threads or after <= at.thread_default:
            continue
        row = txn.query_one(
            f"SELECT COUNT(*) AS n{in_threads}{counted}"
            " AND t.rel_type = ? AND t.relates_to_id = ?",
            [*args(after), RelationTypes.THREAD, thread_id],
        )
        threads[thread_id] = int(row.n) if row else 0
    return UnreadCounts(main, {t: n for t, n in threads.items() if n})


def positions_from_receipts(
    receipts: Mapping[str, int], joined_at: int
) -> ReadPositions:
    """A room's ``ReadPositions`` from its receipt positions by thread ID
    (without any receipt, everything after the user's join is unread)."""
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
