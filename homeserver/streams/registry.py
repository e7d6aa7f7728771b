"""Every stream and ID sequence of the server, each declared once.

A declaration (``StreamDecl``) is plain data: the stream's name, the stored
columns its position continues after at start-up, whether it is a part of the
/sync token (its field there is the stream's name, in declaration order), and
which way its IDs run. ``StreamRegistry`` turns the declarations into one ID
generator each, loads them at start-up, and reports the positions the notifier
and /sync read.

Adding a stream is one ``StreamDecl`` in ``STREAMS`` (append synced streams
after the others already synced: their order is the wire order of /sync
tokens). The code that writes the stream takes its generator from the
registry (``registry.ids(MY_STREAM)``); the /sync side reads it through a
``SyncSources`` entry. A later worker process replicates exactly these units:
a stream's name and position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from homeserver.storage.database import Database
from homeserver.storage.id_generators import BackfillIdGenerator, StreamIdGenerator


@attrs.frozen
class Column:
    """A stored column whose largest (or smallest) value is a position."""

    table: str
    column: str


@attrs.frozen(kw_only=True)
class StreamDecl:
    """One stream or ID sequence.

    Attributes:
        name: unique; also the stream's field in the /sync token and the name
            the notifier is told of.
        loads_from: at start-up the stream continues after the largest value
            of these columns; empty for in-memory streams (they restart at 0).
        synced: a part of the /sync token (clients sync on it).
        descending: IDs run downwards from 0 (backfilled events).
    """

    name: str
    loads_from: tuple[Column, ...] = ()
    synced: bool = False
    descending: bool = False


EVENTS = StreamDecl(
    name="events", loads_from=(Column("events", "stream_ordering"),), synced=True
)
# Push rule changes take account_data positions too: /sync serves the rules
# as m.push_rules account data.
ACCOUNT_DATA = StreamDecl(
    name="account_data",
    loads_from=(
        Column("account_data", "stream_id"),
        Column("push_rules_stream", "stream_id"),
    ),
    synced=True,
)
RECEIPTS = StreamDecl(
    name="receipts", loads_from=(Column("receipts", "stream_id"),), synced=True
)
TYPING = StreamDecl(name="typing", synced=True)
PRESENCE = StreamDecl(
    name="presence", loads_from=(Column("user_presence", "stream_id"),), synced=True
)
# The transaction table's newest row outlives the inboxes, so the stream never
# restarts below a position a client may hold (docs/architecture.md).
TO_DEVICE = StreamDecl(
    name="to_device",
    loads_from=(
        Column("device_inbox", "stream_id"),
        Column("device_inbox_txns", "stream_id"),
    ),
    synced=True,
)
DEVICE_LISTS = StreamDecl(
    name="device_lists",
    loads_from=(Column("device_lists_stream", "stream_id"),),
    synced=True,
)
STATE_GROUPS = StreamDecl(
    name="state_groups", loads_from=(Column("state_groups", "id"),)
)
BACKFILLED_EVENTS = StreamDecl(
    name="backfilled_events",
    loads_from=(Column("events", "stream_ordering"),),
    descending=True,
)
FEDERATION_OUTBOX_EDUS = StreamDecl(
    name="federation_outbox_edus",
    loads_from=(Column("federation_outbox_edus", "edu_id"),),
)
APPSERVICE_OUTBOX = StreamDecl(
    name="appservice_outbox",
    loads_from=(Column("appservice_outbox", "item_id"),),
)

STREAMS: tuple[StreamDecl, ...] = (
    EVENTS,
    ACCOUNT_DATA,
    RECEIPTS,
    TYPING,
    PRESENCE,
    TO_DEVICE,
    DEVICE_LISTS,
    STATE_GROUPS,
    BACKFILLED_EVENTS,
    FEDERATION_OUTBOX_EDUS,
    APPSERVICE_OUTBOX,
)
SYNC_STREAM_NAMES: tuple[str, ...] = tuple(s.name for s in STREAMS if s.synced)
"""The /sync token's parts, in wire order."""


class StreamRegistry:
    """The ID generator of every declared stream.

    Args:
        declarations: the streams (all of ``STREAMS`` unless a test says).
    """

    def __init__(
        self,
        declarations: Sequence[StreamDecl] = STREAMS,
        *,
        generators: Mapping[str, StreamIdGenerator | BackfillIdGenerator] | None = None,
    ) -> None:
        names = [d.name for d in declarations]
        if len(set(names)) != len(names):
            raise ValueError(f"a stream is declared twice: {names}")
        self.declarations = tuple(declarations)
        # Worker mode swaps some for PostgreSQL sequences (storage/sequence_ids.py).
        given = generators or {}
        self._ids: dict[str, StreamIdGenerator] = {}
        self._descending: dict[str, BackfillIdGenerator] = {}
        for d in declarations:
            chosen = given.get(d.name)
            if d.descending:
                assert chosen is None or isinstance(chosen, BackfillIdGenerator)
                self._descending[d.name] = chosen or BackfillIdGenerator(0)
            else:
                assert chosen is None or isinstance(chosen, StreamIdGenerator)
                self._ids[d.name] = chosen or StreamIdGenerator(0)
        synced = {d.name for d in declarations if d.synced}
        self._unknown_synced = sorted(synced - set(SYNC_STREAM_NAMES))
        # Each synced stream's generator in token order (None: not declared).
        self._synced_ids = tuple(
            self._ids[name] if name in synced else None for name in SYNC_STREAM_NAMES
        )

    def ids(self, stream: StreamDecl) -> StreamIdGenerator:
        """The generator of an ascending stream."""
        return self._ids[stream.name]

    def ids_by_name(self, name: str) -> StreamIdGenerator:
        """The generator of the ascending stream called ``name``."""
        return self._ids[name]

    def descending_ids(self, stream: StreamDecl) -> BackfillIdGenerator:
        """The generator of a descending sequence."""
        return self._descending[stream.name]

    def sync_positions(self) -> dict[str, int]:
        """The current (safe) position of every synced stream."""
        return {
            d.name: self._ids[d.name].current_position()
            for d in self.declarations
            if d.synced
        }

    def sync_position_tuple(self) -> tuple[int, ...]:
        """``sync_positions`` in the order of a stream token's parts, a stream
        not declared at 0 (``StreamToken.of(**sync_positions())``, without
        the dictionaries: every woken sync asks for it)."""
        if self._unknown_synced:
            raise ValueError(f"unknown streams {self._unknown_synced}")
        return tuple(
            0 if ids is None else ids.current_position() for ids in self._synced_ids
        )

    async def load(self, db: Database) -> None:
        """Continue each stored stream after its stored positions (at start)."""
        for decl in self.declarations:
            for column in decl.loads_from:
                generator = (
                    self._descending[decl.name]
                    if decl.descending
                    else self._ids[decl.name]
                )
                await generator.load(db, column.table, column.column)
