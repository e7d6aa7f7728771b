"""The outbound federation queues: the sender's position, each destination's
pending PDUs and EDUs, its progress and its backoff.

Spec: server-server API, "Transactions". See schema 0008 for why the queues
live in the database: a destination that is down, or a restart of this
server, loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.id_generators import StreamIdGenerator
from homeserver.types import JsonDict

EVENTS_STREAM = "events"


@attrs.frozen
class Backoff:
    """A destination's retry state (all times in ms; zero interval: healthy)."""

    failure_ts: int | None = None
    retry_last_ts: int = 0
    retry_interval: int = 0

    def retry_at(self) -> int:
        """When the next attempt may happen."""
        return self.retry_last_ts + self.retry_interval if self.retry_interval else 0


@attrs.frozen
class DestinationInfo:
    """What the admin API shows about one destination."""

    destination: str
    last_successful_stream_ordering: int
    backoff: Backoff
    pending_pdus: int
    pending_edus: int


@attrs.frozen
class PendingEdu:
    """An EDU stored for a destination."""

    edu_id: int
    edu_type: str
    content: JsonDict


class FederationOutboxStore:
    """Reads and writes the outbound queues.

    Args:
        db: the database.
        edu_ids: IDs for stored EDUs (from the stream registry, which loads
            them at start-up).
        position_key: the row of ``federation_stream_position`` holding this
            sender's position: ``events`` for the only sender, ``events@NAME``
            for each of several sharded senders (docs/scaling.md).
    """

    def __init__(
        self,
        db: Database,
        edu_ids: StreamIdGenerator,
        position_key: str = EVENTS_STREAM,
    ) -> None:
        self.db = db
        self.edu_ids = edu_ids
        self.position_key = position_key

    # -- the sender's position -------------------------------------------------

    async def get_position(self) -> int | None:
        """The last events-stream position the sender handled, if any. A
        sharded sender without a row of its own yet starts from the single
        sender's (``events``): events after it are sent, none is skipped."""

        def txn_fn(txn: Transaction) -> int | None:
            for key in dict.fromkeys((self.position_key, EVENTS_STREAM)):
                row = txn.query_one(
                    "SELECT position FROM federation_stream_position WHERE stream = ?",
                    (key,),
                )
                if row is not None:
                    return int(row.position)
            return None

        return await self.db.run_interaction("get_federation_position", txn_fn)

    async def queue_pdus(
        self, rows: Sequence[tuple[str, int, str]], new_position: int
    ) -> None:
        """Queue (destination, stream ordering, event ID) rows and move the
        sender's position to ``new_position``, atomically."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute_many(
                "INSERT INTO federation_outbox_pdus"
                " (destination, stream_ordering, event_id) VALUES (?, ?, ?)"
                " ON CONFLICT (destination, stream_ordering) DO NOTHING",
                rows,
            )
            txn.execute_many(
                "INSERT INTO federation_destinations (destination) VALUES (?)"
                " ON CONFLICT (destination) DO NOTHING",
                [(d,) for d in sorted({r[0] for r in rows})],
            )
            txn.execute(
                "INSERT INTO federation_stream_position (stream, position)"
                " VALUES (?, ?) ON CONFLICT (stream)"
                " DO UPDATE SET position = excluded.position",
                (self.position_key, new_position),
            )

        await self.db.run_interaction("queue_federation_pdus", txn_fn)

    async def queue_edus(
        self, destinations: Collection[str], edu_type: str, content: JsonDict
    ) -> None:
        """Store one EDU for each destination."""
        if not destinations:
            return
        encoded = json.dumps(content)

        def txn_fn(txn: Transaction) -> None:
            ids = self.edu_ids.allocate_many_txn(txn, len(destinations))
            txn.execute_many(
                "INSERT INTO federation_outbox_edus"
                " (destination, edu_id, edu_type, content) VALUES (?, ?, ?, ?)",
                [
                    (d, i, edu_type, encoded)
                    for d, i in zip(sorted(destinations), ids, strict=True)
                ],
            )
            txn.execute_many(
                "INSERT INTO federation_destinations (destination) VALUES (?)"
                " ON CONFLICT (destination) DO NOTHING",
                [(d,) for d in sorted(destinations)],
            )

        await self.db.run_interaction("queue_federation_edus", txn_fn)

    # -- one destination's queue ---------------------------------------------

    async def get_pending(
        self, destination: str, pdu_limit: int, edu_limit: int
    ) -> tuple[list[tuple[int, str]], list[PendingEdu]]:
        """The oldest queued PDUs ((stream ordering, event ID)) and EDUs."""

        def txn_fn(txn: Transaction) -> tuple[list[tuple[int, str]], list[PendingEdu]]:
            pdus = txn.query(
                "SELECT stream_ordering, event_id FROM federation_outbox_pdus"
                " WHERE destination = ? ORDER BY stream_ordering LIMIT ?",
                (destination, pdu_limit),
            )
            edus = txn.query(
                "SELECT edu_id, edu_type, content FROM federation_outbox_edus"
                " WHERE destination = ? ORDER BY edu_id LIMIT ?",
                (destination, edu_limit),
            )
            return (
                [(int(r.stream_ordering), r.event_id) for r in pdus],
                [
                    PendingEdu(int(r.edu_id), r.edu_type, json.loads(r.content))
                    for r in edus
                ],
            )

        return await self.db.run_interaction("get_federation_pending", txn_fn)

    async def remove_sent(
        self,
        destination: str,
        stream_orderings: Collection[int],
        edu_ids: Collection[int],
        delivered: bool,
    ) -> None:
        """Forget queued rows that were sent (``delivered``) or dropped.

        A delivery also records the destination's progress and clears its
        backoff.
        """

        def txn_fn(txn: Transaction) -> None:
            txn.execute_many(
                "DELETE FROM federation_outbox_pdus"
                " WHERE destination = ? AND stream_ordering = ?",
                [(destination, s) for s in stream_orderings],
            )
            txn.execute_many(
                "DELETE FROM federation_outbox_edus WHERE destination = ? AND edu_id = ?",
                [(destination, i) for i in edu_ids],
            )
            if delivered:
                high = max(stream_orderings, default=0)
                txn.execute(
                    "UPDATE federation_destinations SET failure_ts = NULL,"
                    " retry_last_ts = 0, retry_interval = 0,"
                    " last_successful_stream_ordering = CASE"
                    " WHEN last_successful_stream_ordering < ? THEN ?"
                    " ELSE last_successful_stream_ordering END"
                    " WHERE destination = ?",
                    (high, high, destination),
                )

        await self.db.run_interaction("remove_federation_sent", txn_fn)

    async def prune_backlog(self, destination: str, keep: int) -> int:
        """Keep only the newest ``keep`` queued PDUs of a destination; returns
        how many older ones were dropped."""

        def txn_fn(txn: Transaction) -> int:
            row = txn.query_one(
                "SELECT stream_ordering FROM federation_outbox_pdus"
                " WHERE destination = ? ORDER BY stream_ordering DESC"
                " LIMIT 1 OFFSET ?",
                (destination, keep),
            )
            if row is None:
                return 0
            txn.execute(
                "DELETE FROM federation_outbox_pdus"
                " WHERE destination = ? AND stream_ordering <= ?",
                (destination, row.stream_ordering),
            )
            return txn.rowcount

        return await self.db.run_interaction("prune_federation_backlog", txn_fn)

    async def get_backoff(self, destination: str) -> Backoff:
        """The destination's retry state (healthy if unknown)."""
        row = await self.db.run_interaction(
            "get_federation_backoff",
            lambda txn: txn.query_one(
                "SELECT failure_ts, retry_last_ts, retry_interval"
                " FROM federation_destinations WHERE destination = ?",
                (destination,),
            ),
        )
        if row is None:
            return Backoff()
        return Backoff(
            None if row.failure_ts is None else int(row.failure_ts),
            int(row.retry_last_ts),
            int(row.retry_interval),
        )

    async def set_backoff(self, destination: str, backoff: Backoff) -> None:
        """Record the destination's retry state."""
        await self.db.run_interaction(
            "set_federation_backoff",
            lambda txn: txn.execute(
                "INSERT INTO federation_destinations"
                " (destination, failure_ts, retry_last_ts, retry_interval)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (destination) DO UPDATE SET"
                " failure_ts = excluded.failure_ts,"
                " retry_last_ts = excluded.retry_last_ts,"
                " retry_interval = excluded.retry_interval",
                (
                    destination,
                    backoff.failure_ts,
                    backoff.retry_last_ts,
                    backoff.retry_interval,
                ),
            ),
        )

    async def get_last_successful(self, destination: str) -> int:
        """The stream ordering of the last PDU the destination acknowledged."""
        row = await self.db.run_interaction(
            "get_federation_last_successful",
            lambda txn: txn.query_one(
                "SELECT last_successful_stream_ordering FROM federation_destinations"
                " WHERE destination = ?",
                (destination,),
            ),
        )
        return int(row.last_successful_stream_ordering) if row else 0

    async def list_destinations(
        self, destination: str | None, offset: int, limit: int
    ) -> tuple[list[DestinationInfo], int]:
        """Destinations by name (one, or a page of all) and how many exist."""

        def txn_fn(txn: Transaction) -> tuple[list[DestinationInfo], int]:
            where, args = (
                ("WHERE d.destination = ?", [destination]) if destination else ("", [])
            )
            rows = txn.query(
                "SELECT d.destination, d.last_successful_stream_ordering,"
                " d.failure_ts, d.retry_last_ts, d.retry_interval,"
                " (SELECT COUNT(*) FROM federation_outbox_pdus p"
                "  WHERE p.destination = d.destination) AS pending_pdus,"
                " (SELECT COUNT(*) FROM federation_outbox_edus e"
                "  WHERE e.destination = d.destination) AS pending_edus"
                f" FROM federation_destinations d {where}"
                " ORDER BY d.destination LIMIT ? OFFSET ?",
                (*args, limit, offset),
            )
            total = txn.query_one(
                f"SELECT COUNT(*) AS n FROM federation_destinations d {where}", args
            )
            return (
                [
                    DestinationInfo(
                        r.destination,
                        int(r.last_successful_stream_ordering),
                        Backoff(
                            None if r.failure_ts is None else int(r.failure_ts),
                            int(r.retry_last_ts),
                            int(r.retry_interval),
                        ),
                        int(r.pending_pdus),
                        int(r.pending_edus),
                    )
                    for r in rows
                ],
                int(total.n) if total else 0,
            )

        return await self.db.run_interaction("list_federation_destinations", txn_fn)

    async def list_destination_rooms(
        self, destination: str, offset: int, limit: int, backwards: bool
    ) -> tuple[list[tuple[str, int]], int]:
        """The rooms ``destination`` has a joined member in, by room ID (a
        page), each with the newest of its events at or before what was last
        sent to the destination; and how many there are."""

        def txn_fn(txn: Transaction) -> tuple[list[tuple[str, int]], int]:
            sent = txn.query_one(
                "SELECT last_successful_stream_ordering AS n"
                " FROM federation_destinations WHERE destination = ?",
                (destination,),
            )
            upto = int(sent.n) if sent else 0
            joined = (
                "FROM current_state_events c WHERE c.type = ? AND c.membership = ?"
                " AND c.state_key LIKE ?"
            )
            args = ("m.room.member", "join", f"%:{destination}")
            order = "DESC" if backwards else "ASC"
            rows = txn.query(
                "SELECT c.room_id, (SELECT MAX(e.stream_ordering) FROM events e"
                " WHERE e.room_id = c.room_id AND e.stream_ordering <= ?) AS sent"
                f" {joined} GROUP BY c.room_id ORDER BY c.room_id {order}"
                " LIMIT ? OFFSET ?",
                (upto, *args, limit, offset),
            )
            total = txn.query_one(
                f"SELECT COUNT(DISTINCT c.room_id) AS n {joined}", args
            )
            return (
                [(str(r.room_id), int(r.sent or 0)) for r in rows],
                int(total.n) if total else 0,
            )

        return await self.db.run_read("list_destination_rooms", txn_fn)

    async def known_destinations(self, destinations: Collection[str]) -> set[str]:
        """Which of ``destinations`` this server has queued anything for before."""
        wanted = sorted(destinations)

        def txn_fn(txn: Transaction) -> set[str]:
            return {
                row.destination
                for row in txn.query_in(
                    "SELECT destination FROM federation_destinations"
                    " WHERE destination IN (?*)",
                    wanted,
                    batch=500,
                )
            }

        return await self.db.run_interaction("known_federation_destinations", txn_fn)

    async def get_destinations_with_pending(self) -> list[str]:
        """Destinations with anything queued (to wake at start-up)."""

        def txn_fn(txn: Transaction) -> list[str]:
            found = {
                r.destination
                for r in txn.query(
                    "SELECT DISTINCT destination FROM federation_outbox_pdus"
                )
            }
            found.update(
                r.destination
                for r in txn.query(
                    "SELECT DISTINCT destination FROM federation_outbox_edus"
                )
            )
            return sorted(found)

        return await self.db.run_interaction("get_federation_pending_dests", txn_fn)
