"""Full-text search over room events: SQLite FTS5 and PostgreSQL tsvector.

The index is written by the event persister (``search_index.py``); this
store only reads it. Both engines answer the same query with the same
ordering rules: by rank (best first; newer first among equals) or by recency
(newest ``origin_server_ts`` first, then the later stream ordering). Only events that clients may be shown are
returned: never outliers, rejected, soft-failed or redacted ones.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from homeserver.storage.database import Database, Transaction, in_list
from homeserver.storage.stores.search_index import TEXT_SEARCH_CONFIG
from homeserver.storage.stores.search_query import SearchTerms
from homeserver.storage.stores.stream import EventRowFilter

Order = Literal["rank", "recent"]

_SHOWN = (
    " AND e.outlier = ? AND e.rejected_reason IS NULL AND e.soft_failed = ?"
    " AND e.redacted_by IS NULL"
)


@attrs.frozen
class SearchCriteria:
    """What to look for, and where.

    Args:
        room_ids: the rooms to search (the caller decides which the user may).
        terms: the parsed search term (must not be empty).
        keys: the content keys to match (``content.body``, ...).
        row_filter: the exact-match part of the client's event filter.
        order: ``rank`` or ``recent``.
    """

    room_ids: tuple[str, ...]
    terms: SearchTerms
    keys: tuple[str, ...]
    row_filter: EventRowFilter | None = None
    order: Order = "rank"


@attrs.frozen
class SearchHit:
    """One matching event, and where it stands in the ordering."""

    event_id: str
    rank: float
    origin_server_ts: int
    stream_ordering: int


class SearchStore:
    """Reads the full-text index of room events."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(
        self, criteria: SearchCriteria, position: tuple[int, int] | None, limit: int
    ) -> list[SearchHit]:
        """Up to ``limit`` hits in ``criteria.order``.

        Args:
            position: where the previous page stopped: for ``rank`` (the
                number of hits already read, 0), for ``recent`` the
                (origin_server_ts, stream ordering) of the last hit read (only
                older ones follow). None: from the start.
        """
        if criteria.terms.empty or not criteria.room_ids or not criteria.keys:
            return []
        return await self.db.run_interaction(
            "search_events", self._search_txn, criteria, position, limit
        )

    async def count(self, criteria: SearchCriteria) -> int:
        """How many events match in all (before visibility is applied)."""
        if criteria.terms.empty or not criteria.room_ids or not criteria.keys:
            return 0
        return await self.db.run_interaction(
            "count_search_events", self._count_txn, criteria
        )

    def _search_txn(
        self,
        txn: Transaction,
        criteria: SearchCriteria,
        position: tuple[int, int] | None,
        limit: int,
    ) -> list[SearchHit]:
        rank, rank_args, source, where, args = _matching(txn, criteria)
        args = rank_args + args
        if criteria.order == "recent":
            # By timestamp: stream orderings of backfilled history run
            # backwards, and mean nothing across rooms.
            if position is not None:
                where += (
                    " AND (e.origin_server_ts < ?"
                    " OR (e.origin_server_ts = ? AND e.stream_ordering < ?))"
                )
                args += [position[0], position[0], position[1]]
            order = "e.origin_server_ts DESC, e.stream_ordering DESC"
            paging = " LIMIT ?"
            args.append(limit)
        else:
            order = "rank DESC, e.stream_ordering DESC"
            paging = " LIMIT ? OFFSET ?"
            args += [limit, position[0] if position else 0]
        rows = txn.query(
            f"SELECT s.event_id, {rank} AS rank, e.origin_server_ts, e.stream_ordering"
            f" FROM {source} WHERE {where} ORDER BY {order}{paging}",
            args,
        )
        return [
            SearchHit(
                r.event_id,
                float(r.rank or 0.0),
                int(r.origin_server_ts),
                int(r.stream_ordering),
            )
            for r in rows
        ]

    def _count_txn(self, txn: Transaction, criteria: SearchCriteria) -> int:
        _, _, source, where, args = _matching(txn, criteria)
        row = txn.query_one(f"SELECT COUNT(*) AS n FROM {source} WHERE {where}", args)
        return int(row.n) if row else 0


def _matching(
    txn: Transaction, criteria: SearchCriteria
) -> tuple[str, list[Any], str, str, list[Any]]:
    """(rank expression, its args, FROM clause, WHERE clause, its args) for
    the engine."""
    args: list[Any]
    rank_args: list[Any] = []
    if txn.engine.name == "postgres":
        query, query_args = criteria.terms.tsquery(TEXT_SEARCH_CONFIG)
        rank = f"ts_rank_cd(s.vector, {query})"
        source = "event_search AS s JOIN events AS e ON e.event_id = s.event_id"
        where = f"s.vector @@ ({query})"
        rank_args = list(query_args)
        args = list(query_args)
    else:
        # bm25() is lower for better matches.
        rank = "-bm25(event_search_fts)"
        source = (
            "event_search_fts JOIN event_search AS s ON s.id = event_search_fts.rowid"
            " JOIN events AS e ON e.event_id = s.event_id"
        )
        where = "event_search_fts MATCH ?"
        args = [criteria.terms.fts5()]
    where += f" AND s.room_id IN {in_list(criteria.room_ids)}"
    args += criteria.room_ids
    where += f" AND s.key IN {in_list(criteria.keys)}"
    args += criteria.keys
    where += _SHOWN
    args += [False, False]
    if criteria.row_filter is not None:
        sql, filter_args = criteria.row_filter.to_sql()
        where += sql
        args += filter_args
    return rank, rank_args, source, where, args
