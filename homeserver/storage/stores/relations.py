"""Reading the relations index (schema 0012): children of an event, edits,
annotations and threads.

Only events clients may ever see are returned (no outliers, rejected or
soft-failed events), as in ``StreamStore``; who may see which of them is the
relations service's business.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import attrs

from homeserver.events.relations import RelationTypes
from homeserver.storage.database import Database, Transaction, in_list
from homeserver.storage.stores.relations_cache import ChildlessParents
from homeserver.storage.stores.stream import (
    VISIBLE,
    VISIBLE_ARGS,
    EventPosition,
    position_bound,
    positions_txn,
)
from homeserver.streams.tokens import Direction, RoomStreamToken
from homeserver.util.coalesce import Coalescer

# A bundled-children look-up: the cache generation, parents, relation types.
_ChildrenKey = tuple[int, tuple[str, ...], tuple[str, ...]]

# How deep ``recurse`` follows relations of relations (as Synapse).
MAX_RECURSION_DEPTH = 3


@attrs.frozen
class ChildrenQuery:
    """Which children of an event to read, and in which order.

    Args:
        rel_type: only this relationship type (None: any).
        event_type: only events of this type (with ``rel_type``).
        recurse: also children of children, up to ``MAX_RECURSION_DEPTH``.
    """

    rel_type: str | None = None
    event_type: str | None = None
    direction: Direction = Direction.BACKWARDS
    from_token: RoomStreamToken | None = None
    to_token: RoomStreamToken | None = None
    recurse: bool = False


@attrs.frozen
class ThreadRow:
    """A thread root and its newest child's stream ordering."""

    thread_id: str
    latest_event_id: str
    latest_stream_ordering: int


class RelationsStore:
    """Reads the relations index."""

    def __init__(self, db: Database, childless: ChildlessParents | None = None) -> None:
        self.db = db
        # Shared with the event persister, which invalidates it.
        self.childless = childless or ChildlessParents()
        # The same look-up at the same time, read once (the syncs one new
        # event wakes on a client reader, which did not write it, all ask
        # for its children at once). Keyed by the cache's generation, so a
        # look-up made after a child was written never joins an older read.
        self._reading: Coalescer[_ChildrenKey, dict[str, dict[str, list[str]]]] = (
            Coalescer()
        )

    async def get_children(
        self, room_id: str, parent_id: str, query: ChildrenQuery, limit: int
    ) -> list[EventPosition]:
        """Up to ``limit`` children of ``parent_id`` in topological order."""
        backwards = query.direction is Direction.BACKWARDS
        args: list[Any] = []
        if query.recurse:
            source = (
                "WITH RECURSIVE related (event_id, hops) AS ("
                " SELECT event_id, 1 FROM event_relations WHERE relates_to_id = ?"
                " UNION SELECT r.event_id, related.hops + 1 FROM event_relations r"
                " JOIN related ON r.relates_to_id = related.event_id"
                " WHERE related.hops < ?)"
                " SELECT e.event_id, e.depth, e.stream_ordering, e.origin_server_ts"
                " FROM related JOIN event_relations r ON r.event_id = related.event_id"
            )
            args += [parent_id, MAX_RECURSION_DEPTH]
            where = "r.room_id = ?"
        else:
            source = (
                "SELECT e.event_id, e.depth, e.stream_ordering, e.origin_server_ts"
                " FROM event_relations r"
            )
            where = "r.relates_to_id = ? AND r.room_id = ?"
            args.append(parent_id)
        args.append(room_id)
        sql = f"{source} JOIN events e ON e.event_id = r.event_id WHERE {where}"
        sql += f" AND {VISIBLE}"
        args += VISIBLE_ARGS
        if query.rel_type is not None:
            sql += " AND r.rel_type = ?"
            args.append(query.rel_type)
            if query.event_type is not None:
                sql += " AND r.type = ?"
                args.append(query.event_type)
        for token, upper in (
            (query.from_token, backwards),
            (query.to_token, not backwards),
        ):
            if token is not None:
                clause, extra = position_bound(token, upper)
                sql += f" AND {clause}"
                args += extra
        order = "DESC" if backwards else "ASC"
        sql += f" ORDER BY e.depth {order}, e.stream_ordering {order} LIMIT ?"
        args.append(limit)
        return await self.db.run_interaction(
            "get_relation_children", positions_txn, sql, args
        )

    async def has_annotation(
        self, parent_id: str, event_type: str, key: str, sender: str
    ) -> bool:
        """Whether ``sender`` already annotated ``parent_id`` with ``key``."""
        rows = await self.db.run_interaction(
            "has_annotation",
            _query_txn,
            "SELECT r.event_id FROM event_relations r"
            " JOIN events e ON e.event_id = r.event_id"
            " WHERE r.relates_to_id = ? AND r.aggregation_key = ? AND r.sender = ?"
            f" AND r.rel_type = ? AND r.type = ? AND {VISIBLE} LIMIT 1",
            [parent_id, key, sender, RelationTypes.ANNOTATION, event_type]
            + list(VISIBLE_ARGS),
        )
        return bool(rows)

    async def is_relation_target(self, parent_id: str) -> bool:
        """Whether any indexed event relates to ``parent_id``."""
        rows = await self.db.run_interaction(
            "is_relation_target",
            _query_txn,
            "SELECT event_id FROM event_relations WHERE relates_to_id = ? LIMIT 1",
            [parent_id],
        )
        return bool(rows)

    async def get_bundled_children(
        self, parent_ids: Collection[str], rel_types: Collection[str]
    ) -> dict[str, dict[str, list[str]]]:
        """parent -> rel_type -> its servable children with that type, newest
        first (topologically): what bundled aggregations are built from, in
        one query for a whole page of events, leaving out the parents known
        to have none (``ChildlessParents``)."""
        unknown = self.childless.unknown(parent_ids, rel_types)
        if not unknown:
            return {}
        generation = self.childless.generation
        parents, types = tuple(sorted(set(unknown))), tuple(sorted(set(rel_types)))

        async def read() -> dict[str, dict[str, list[str]]]:
            found = await self.db.run_interaction(
                "get_bundled_children", self._bundled_children_txn, parents, types
            )
            self.childless.note_childless(
                [p for p in parents if p not in found], types, generation
            )
            return found

        return await self._reading.run((generation, parents, types), read)

    def _bundled_children_txn(
        self, txn: Transaction, parent_ids: Sequence[str], rel_types: Sequence[str]
    ) -> dict[str, dict[str, list[str]]]:
        rows = txn.query_in(
            "SELECT r.relates_to_id, r.rel_type, r.event_id, e.depth,"
            " e.stream_ordering FROM event_relations r"
            " JOIN events e ON e.event_id = r.event_id"
            f" WHERE r.relates_to_id IN (?*) AND r.rel_type IN {in_list(rel_types)}"
            f" AND {VISIBLE}",
            parent_ids,
            [*rel_types, *VISIBLE_ARGS],
        )
        rows.sort(key=lambda r: (int(r.depth), int(r.stream_ordering)), reverse=True)
        out: dict[str, dict[str, list[str]]] = {}
        for row in rows:
            by_type = out.setdefault(row.relates_to_id, {})
            by_type.setdefault(row.rel_type, []).append(row.event_id)
        return out

    async def get_threads(
        self,
        room_id: str,
        before: tuple[int, str] | None,
        limit: int,
        participant: str | None = None,
    ) -> list[ThreadRow]:
        """Threads of the room, most recently active first.

        Args:
            before: continue after this (latest stream ordering, thread ID).
            participant: only threads this user started or replied in.
        """
        sql = (
            "SELECT t.thread_id, t.latest_event_id, t.latest_stream_ordering"
            " FROM threads t WHERE t.room_id = ?"
        )
        args: list[Any] = [room_id]
        if before is not None:
            sql += (
                " AND (t.latest_stream_ordering < ? OR"
                " (t.latest_stream_ordering = ? AND t.thread_id < ?))"
            )
            args += [before[0], before[0], before[1]]
        if participant is not None:
            sql += (
                " AND (EXISTS (SELECT 1 FROM events root WHERE"
                " root.event_id = t.thread_id AND root.sender = ?)"
                " OR EXISTS (SELECT 1 FROM event_relations c WHERE"
                " c.relates_to_id = t.thread_id AND c.rel_type = ? AND c.sender = ?))"
            )
            args += [participant, RelationTypes.THREAD, participant]
        sql += " ORDER BY t.latest_stream_ordering DESC, t.thread_id DESC LIMIT ?"
        args.append(limit)
        rows = await self.db.run_interaction("get_threads", _query_txn, sql, args)
        return [
            ThreadRow(r.thread_id, r.latest_event_id, int(r.latest_stream_ordering))
            for r in rows
        ]

    async def get_thread_of(self, event_ids: Collection[str]) -> dict[str, str]:
        """The thread root of each event that is in a thread."""
        return await self.db.run_interaction(
            "get_thread_of", self._thread_of_txn, sorted(event_ids)
        )

    def _thread_of_txn(
        self, txn: Transaction, event_ids: Sequence[str]
    ) -> dict[str, str]:
        return {
            row.event_id: row.relates_to_id
            for row in txn.query_in(
                "SELECT event_id, relates_to_id FROM event_relations"
                " WHERE event_id IN (?*) AND rel_type = ?",
                event_ids,
                [RelationTypes.THREAD],
            )
        }


def _query_txn(txn: Transaction, sql: str, args: Sequence[Any]) -> list[Any]:
    return txn.query(sql, args)
