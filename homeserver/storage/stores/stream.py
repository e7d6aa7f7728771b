"""A room's timeline in order: topological pagination and timestamp lookups.

Only events clients may ever see are returned: outliers, rejected and
soft-failed events are excluded here, so no caller can forget to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from homeserver.storage.database import Database, Transaction, in_list
from homeserver.storage.id_generators import StreamIdGenerator
from homeserver.streams.tokens import Direction, RoomStreamToken, TopologicalPosition

# Events clients see (over ``events e``): not outliers, rejected or
# soft-failed; shared with the relations and thread unread stores.
VISIBLE = "e.outlier = ? AND e.rejected_reason IS NULL AND e.soft_failed = ?"
VISIBLE_ARGS = (False, False)


@attrs.frozen
class EventPosition:
    """An event's place in its room's timeline."""

    event_id: str
    depth: int
    stream: int
    origin_server_ts: int = 0

    @property
    def topological(self) -> TopologicalPosition:
        return TopologicalPosition(self.depth, self.stream)


@attrs.frozen
class EventRowFilter:
    """The part of an event filter the database can apply (exact matches only).

    Args:
        types: only these types (None: any).
        not_types: never these types.
        senders: only these senders (None: any).
        not_senders: never these senders.
        related_by_rel_types: only events that an (unredacted) relation of
            one of these types points at (None: any).
        related_by_senders: only events that a relation from one of these
            senders points at (None: any).
    """

    types: tuple[str, ...] | None = None
    not_types: tuple[str, ...] = ()
    senders: tuple[str, ...] | None = None
    not_senders: tuple[str, ...] = ()
    related_by_rel_types: tuple[str, ...] | None = None
    related_by_senders: tuple[str, ...] | None = None

    def to_sql(self) -> tuple[str, list[Any]]:
        """WHERE clauses (joined with AND, each starting with " AND") and args."""
        sql = ""
        args: list[Any] = []
        types = self.types
        if types is not None and any("*" in t for t in types):
            sql, args = _types_with_wildcards(types)
            types = None
        not_types = tuple(t for t in self.not_types if "*" not in t)
        for pattern in self.not_types:
            if _is_prefix_pattern(pattern):
                # Case-sensitive on both engines (LIKE is not on SQLite).
                sql += " AND NOT (substr(e.type, 1, ?) = ?)"
                args.extend((len(pattern) - 1, pattern[:-1]))
            # Other wildcard patterns are left to the caller's own check.
        for column, values, negate in (
            ("e.type", types, False),
            ("e.type", not_types or None, True),
            ("e.sender", self.senders, False),
            ("e.sender", self.not_senders or None, True),
        ):
            if values is None:
                continue
            if not values:
                sql += " AND 1 = 0"
                continue
            sql += f" AND {column} {'NOT IN' if negate else 'IN'} {in_list(values)}"
            args.extend(values)
        related_sql, related_args = self._related_sql()
        return sql + related_sql, args + related_args

    def _related_sql(self) -> tuple[str, list[Any]]:
        """The related_by_* part: a relation (schema 0012) pointing at the row."""
        conditions = []
        args: list[Any] = []
        for column, values in (
            ("rel.rel_type", self.related_by_rel_types),
            ("rel.sender", self.related_by_senders),
        ):
            if values is None:
                continue
            if not values:
                return " AND 1 = 0", []
            conditions.append(f" AND {column} IN {in_list(values)}")
            args.extend(values)
        if not conditions:
            return "", []
        return (
            " AND EXISTS (SELECT 1 FROM event_relations rel"
            " WHERE rel.relates_to_id = e.event_id" + "".join(conditions) + ")",
            args,
        )


def _is_prefix_pattern(pattern: str) -> bool:
    """``prefix*``: one wildcard, at the end, after a non-empty prefix."""
    return pattern.endswith("*") and "*" not in pattern[:-1] and len(pattern) > 1


def _types_with_wildcards(types: Sequence[str]) -> tuple[str, list[Any]]:
    """``e.type`` matching one of ``types``, where ``*`` matches anything.

    LIKE is case-insensitive on SQLite, so this may let through more than the
    patterns match; callers check the filter on what comes back as well.
    """
    exact = [t for t in types if "*" not in t]
    clauses = [f"e.type IN {in_list(exact)}"] if exact else []
    args: list[Any] = list(exact)
    for pattern in types:
        if _is_prefix_pattern(pattern):
            clauses.append("substr(e.type, 1, ?) = ?")
            args.extend((len(pattern) - 1, pattern[:-1]))
        elif "*" in pattern:
            escaped = (
                pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            )
            clauses.append("e.type LIKE ? ESCAPE '\\'")
            args.append(escaped.replace("*", "%"))
    return " AND (" + " OR ".join(clauses) + ")", args


def position_bound(
    token: RoomStreamToken, inclusive_upper: bool
) -> tuple[str, list[Any]]:
    """A clause for events at-or-before (``inclusive_upper``) or after ``token``."""
    if token.topological is None:
        return (
            "e.stream_ordering <= ?" if inclusive_upper else "e.stream_ordering > ?"
        ), [token.stream]
    if inclusive_upper:
        clause = "(e.depth < ? OR (e.depth = ? AND e.stream_ordering <= ?))"
    else:
        clause = "(e.depth > ? OR (e.depth = ? AND e.stream_ordering > ?))"
    return clause, [token.topological, token.topological, token.stream]


class StreamStore:
    """Reads a room's timeline by position."""

    def __init__(self, db: Database, stream_ids: StreamIdGenerator) -> None:
        self.db = db
        self.stream_ids = stream_ids

    def current_token(self) -> RoomStreamToken:
        """The stream position everything at or below is persisted."""
        return RoomStreamToken(None, self.stream_ids.current_position())

    async def paginate(
        self,
        room_id: str,
        from_token: RoomStreamToken,
        direction: Direction,
        limit: int,
        *,
        to_token: RoomStreamToken | None = None,
        not_after: RoomStreamToken | None = None,
        row_filter: EventRowFilter | None = None,
    ) -> list[EventPosition]:
        """Up to ``limit`` event positions from ``from_token`` in ``direction``.

        Args:
            from_token: where to start (exclusive going forwards, inclusive of
                the event it names going backwards; see ``streams.tokens``).
            to_token: where to stop, if anywhere.
            not_after: never return events after this point (a departed
                user's leave), in either direction.
            row_filter: type/sender restrictions applied in SQL.
        """
        backwards = direction is Direction.BACKWARDS
        clauses: list[str] = []
        args: list[Any] = [room_id, *VISIBLE_ARGS]
        for token, upper in (
            (from_token, backwards),
            (to_token, not backwards),
            (not_after, True),
        ):
            if token is not None:
                clause, extra = position_bound(token, upper)
                clauses.append(clause)
                args.extend(extra)
        filter_sql, filter_args = (row_filter or EventRowFilter()).to_sql()
        args.extend(filter_args)
        order = "DESC" if backwards else "ASC"
        sql = (
            "SELECT e.event_id, e.depth, e.stream_ordering, e.origin_server_ts"
            f" FROM events e WHERE e.room_id = ? AND {VISIBLE}"
            + "".join(f" AND {c}" for c in clauses)
            + filter_sql
            + f" ORDER BY e.depth {order}, e.stream_ordering {order} LIMIT ?"
        )
        args.append(limit)
        return await self.db.run_interaction(
            "paginate_room_events", positions_txn, sql, args
        )

    async def get_by_timestamp(
        self,
        room_id: str,
        ts: int,
        direction: Direction,
        limit: int,
        after: EventPosition | None = None,
    ) -> list[EventPosition]:
        """Events nearest ``ts``: the first at/after it (``f``) or at/before (``b``).

        Args:
            after: continue past this candidate from an earlier call.
        """
        forwards = direction is Direction.FORWARDS
        op, order = (">", "ASC") if forwards else ("<", "DESC")
        args: list[Any] = [room_id, *VISIBLE_ARGS, ts]
        sql = (
            "SELECT e.event_id, e.depth, e.stream_ordering, e.origin_server_ts"
            f" FROM events e WHERE e.room_id = ? AND {VISIBLE}"
            f" AND e.origin_server_ts {op}= ?"
        )
        if after is not None:
            sql += (
                f" AND (e.origin_server_ts {op} ? OR"
                f" (e.origin_server_ts = ? AND e.stream_ordering {op} ?))"
            )
            args += [after.origin_server_ts, after.origin_server_ts, after.stream]
        sql += (
            f" ORDER BY e.origin_server_ts {order}, e.stream_ordering {order} LIMIT ?"
        )
        args.append(limit)
        return await self.db.run_interaction(
            "get_events_by_timestamp", positions_txn, sql, args
        )


def positions_txn(
    txn: Transaction, sql: str, args: Sequence[Any]
) -> list[EventPosition]:
    """The rows of a query selecting ``event_id, depth, stream_ordering,
    origin_server_ts``, as positions (shared with the relations store)."""
    return [
        EventPosition(
            str(r.event_id),
            int(r.depth),
            int(r.stream_ordering),
            int(r.origin_server_ts),
        )
        for r in txn.query(sql, args)
    ]
