"""Replication between the processes of a worker deployment, over Redis Streams.

Each synced stream (``streams/registry.py``) has a Redis stream
``{prefix}:rs:{name}``; cache invalidations ride ``{prefix}:rs:caches``.
An entry's fields: ``i`` the writing process, ``p`` its position (int),
``d`` a JSON object: ``users`` and ``rooms`` to wake, and rows (by kind)
that a reader needs and cannot read from PostgreSQL cheaply (an event's room
and member for the change caches, a room's typists).

**Writers** publish after commit: what the notifier is told (``notify``),
rows added by the bind step (``add_row``), the stream's position when it
moved. Entries are coalesced per reactor turn and sent one at a time from
one thread, so one process's entries keep their order; a failed XADD is
merged back and retried. Event rows whose ordering is not yet visible wait
for the next entry (a reader woken for them would see nothing new).

**Readers** (every process, for the streams it does not write): feed the
rows to their sinks, advance the stream's position for that writer, wake the
notifier for the users and rooms, tell position listeners.

**Start-up and gaps.** ``prepare`` notes each stream's tail before the
positions are loaded from PostgreSQL, and ``start`` reads after it, so no
entry between the two is missed; positions of streams written elsewhere are
then set to what their writers last published (a larger stored ID may still
have a smaller one in flight). When a stream was trimmed past what a reader
read, or Redis lost it, that stream's change caches answer "maybe" (the
database decides) from the next entry's position down, and every waiting
sync is woken.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import EVENTS, SYNC_STREAM_NAMES, StreamRegistry
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock
from homeserver.workers.metrics import LAG_SECONDS, POSITION
from homeserver.workers.redis_bus import START, Entry, RedisBus
from homeserver.workers.roles import WorkerTopology

logger = logging.getLogger(__name__)

CACHES = "caches"
"""The stream of cache invalidations."""
POSITIONS = "positions"
"""On the caches stream: a reader asks every writer for its positions."""
UNKNOWN = 2**62
"""A change cache's ``earliest_known`` while a gap lasts: everything may
have changed."""
TAIL_SCAN = 100
"""Entries read back per stream at start, to find each writer's last position."""
RETRY_FIRST = 0.1
HELD_RETRY = 0.05
RETRY_MAX = 5.0

RowSink = Callable[[list[Any], int], tuple[Iterable[str], Iterable[str]] | None]
"""Takes a kind of rows of an entry and its position; may name more users
and rooms to wake."""
RowBuilder = Callable[[set[str], set[str]], dict[str, list[Any]]]
"""At publish time: rows for the users and rooms an entry wakes."""
PositionListener = Callable[[int], None]
InvalidationSink = Callable[[list[Any]], None]


@attrs.define
class _Pending:
    """What the next entry of one stream carries."""

    users: set[str] = attrs.field(factory=set)
    rooms: set[str] = attrs.field(factory=set)
    rows: dict[str, list[tuple[int | None, Any]]] = attrs.field(factory=dict)


class Replication:
    """This process's side of replication (idle without ``workers.instances``).

    Args:
        topology: the deployment.
        streams: this process's stream positions.
        notifier: woken for what other processes write.
        clock: for retries.
        bus_factory: builds the Redis bus from the callbacks (None: idle).
    """

    def __init__(
        self,
        *,
        topology: WorkerTopology,
        streams: StreamRegistry,
        notifier: Notifier,
        clock: Clock,
        bus_factory: Callable[..., RedisBus] | None = None,
    ) -> None:
        self.topology = topology
        self.streams = streams
        self.notifier = notifier
        self.clock = clock
        self.name = topology.this.name
        self.prefix = topology.workers.redis_prefix
        self.bus = (
            bus_factory(
                on_entries=self._on_entries,
                on_gap=self._on_gap,
                on_connected=self._on_connected,
            )
            if bus_factory is not None
            else None
        )
        self.connected = False
        self._in_memory = {d.name for d in streams.declarations if not d.loads_from}
        self._streams_by_key = {self.key(s): s for s in (*SYNC_STREAM_NAMES, CACHES)}
        self._sinks: dict[tuple[str, str], RowSink] = {}
        self._builders: dict[str, RowBuilder] = {}
        self._listeners: dict[str, list[PositionListener]] = {}
        self._invalidation_sinks: dict[str, InvalidationSink] = {}
        self._gap_resets: dict[str, list[Callable[[int], None]]] = {}
        self._pending: dict[str, _Pending] = {}
        self._invalidations: list[JsonDict] = []
        self._published: dict[str, int] = {}
        self._started: set[str] = set()  # streams this run has published
        self._flushing = False
        self._tails: dict[str, list[Entry]] = {}
        self._gapped: set[str] = set()
        self._writer_positions: dict[str, dict[str, int]] = {}
        self._lag: dict[str, float] = {}
        self._applied: dict[str, int] = {}
        self.add_invalidation_sink(POSITIONS, self._republish)

    @property
    def active(self) -> bool:
        """Whether this process replicates (a worker deployment)."""
        return self.bus is not None

    def key(self, stream: str) -> str:
        """The Redis key of ``stream``."""
        return f"{self.prefix}:rs:{stream}"

    def _keys(self) -> dict[str, str]:
        """Redis key -> stream name, for every replicated stream."""
        return self._streams_by_key

    # Hooks (connected by the composition's bind step).

    def add_sink(self, stream: str, kind: str, sink: RowSink) -> None:
        """Rows of ``kind`` on ``stream`` from other processes go to ``sink``."""
        self._sinks[(stream, kind)] = sink

    def add_row_builder(self, stream: str, builder: RowBuilder) -> None:
        """Each entry this process publishes on ``stream`` carries the rows
        ``builder`` makes for its users and rooms."""
        self._builders[stream] = builder

    def add_position_listener(self, stream: str, listener: PositionListener) -> None:
        """Call ``listener(position)`` after another process moved ``stream``."""
        self._listeners.setdefault(stream, []).append(listener)

    def add_gap_reset(self, stream: str, reset: Callable[[int], None]) -> None:
        """After a gap in ``stream``, call ``reset(position)``: what a sink
        fed must treat every change at or below ``position`` as unknown."""
        self._gap_resets.setdefault(stream, []).append(reset)

    def add_invalidation_sink(self, cache: str, sink: InvalidationSink) -> None:
        """Invalidations of ``cache`` published by other processes go to
        ``sink`` (a list of keys; empty: everything)."""
        self._invalidation_sinks[cache] = sink

    # Publishing.

    def on_notify(
        self, stream: str, users: Sequence[str], rooms: Sequence[str]
    ) -> None:
        """Notifier observer: a stream this process writes woke these."""
        if stream == EVENTS.name or not self.topology.writes(stream):
            return  # events: the rows name them (the originator may not write)
        pending = self._pending.setdefault(stream, _Pending())
        pending.users.update(users)
        pending.rooms.update(rooms)
        self._flush_soon()

    def add_row(
        self, stream: str, kind: str, row: Any, position: int | None = None
    ) -> None:
        """Carry ``row`` in this stream's next entry (from when ``position``
        is visible, if given)."""
        pending = self._pending.setdefault(stream, _Pending())
        pending.rows.setdefault(kind, []).append((position, row))
        self._flush_soon()

    def position_moved(self, stream: str) -> None:
        """Publish ``stream``'s position soon, if it moved."""
        self._pending.setdefault(stream, _Pending())
        self._flush_soon()

    def invalidate(self, cache: str, keys: Sequence[Any]) -> None:
        """Tell the other processes to forget ``keys`` of ``cache`` (none:
        all of it). Thread-safe: database threads call it after commit."""
        if self.bus is None:
            return
        item = {"c": cache, "k": list(keys)}
        if threading.current_thread() is threading.main_thread():
            # The reactor's thread: queued now, so it goes out before the
            # stream entry of the write that made it.
            self._queue_invalidation(item)
        else:
            self.bus.hand_off(self._queue_invalidation, item)

    def _queue_invalidation(self, item: JsonDict) -> None:
        self._invalidations.append(item)
        self._flush_soon()

    def _own_position(self, stream: str) -> int:
        generator: Any = self.streams.ids_by_name(stream)
        own = getattr(generator, "own_position", None)
        return int(own() if own is not None else generator.current_position())

    def _flush_soon(self, delay: float = 0) -> None:
        """Publish on a later reactor turn: the write that asked has then
        made its position visible, and what else it wakes joins the entry."""
        if self.bus is None or self._flushing:
            return
        self._flushing = True
        self.clock.call_later(
            delay, lambda: run_in_background("replication_publish", self._flush())
        )

    async def _flush(self) -> None:
        """Send what is pending, one entry at a time, until nothing is."""
        assert self.bus is not None
        delay = RETRY_FIRST
        try:
            while True:
                entries = self._take_entries()
                if not entries:
                    return
                sent = 0
                try:
                    for key, fields in entries:
                        await self.bus.publish(key, fields)
                        sent += 1
                    delay = RETRY_FIRST
                except Exception as exc:
                    logger.warning("replication: publish failed, retrying: %s", exc)
                    self._put_back(entries[sent:])
                    await self.clock.sleep(delay)
                    delay = min(delay * 2, RETRY_MAX)
        finally:
            self._flushing = False
            if self._held():
                # Rows of writes still in flight: look again shortly (the
                # write that finishes them normally asks first).
                self._flush_soon(HELD_RETRY)

    def _held(self) -> bool:
        return any(p.rows for p in self._pending.values())

    def _take_entries(self) -> list[tuple[str, dict[str, str]]]:
        """The entries to send now; invalidations first, so a reader never
        serves a new position from a stale cache."""
        entries: list[tuple[str, dict[str, str]]] = []
        if self._invalidations:
            data, self._invalidations = self._invalidations, []
            payload = json.dumps({"inv": data}, separators=(",", ":"))
            entries.append((self.key(CACHES), {"i": self.name, "p": "0", "d": payload}))
        for stream in list(self._pending):
            fields = self._take_stream(stream)
            if fields is not None:
                entries.append((self.key(stream), fields))
        return entries

    def _take_stream(self, stream: str) -> dict[str, str] | None:
        pending = self._pending.pop(stream)
        position = self._own_position(stream)
        data: JsonDict = {}
        held = _Pending()
        for kind, rows in pending.rows.items():
            ready = [r for p, r in rows if p is None or p <= position]
            later: list[tuple[int | None, Any]] = [
                (p, r) for p, r in rows if p is not None and p > position
            ]
            if ready:
                data[kind] = ready
            if later:
                held.rows[kind] = later
        if held.rows:
            self._pending[stream] = held
        builder = self._builders.get(stream)
        if builder is not None and (pending.users or pending.rooms):
            data.update(builder(pending.users, pending.rooms))
        if pending.users:
            data["users"] = sorted(pending.users)
        if pending.rooms:
            data["rooms"] = sorted(pending.rooms)
        if not data and position <= self._published.get(stream, -1):
            return None
        self._published[stream] = max(position, self._published.get(stream, -1))
        payload = json.dumps(data, separators=(",", ":"))
        fields = {"i": self.name, "p": str(position), "d": payload}
        if stream not in self._started:
            # This process's first entry of the stream: what an earlier run
            # of it committed but never published is covered by no entry.
            self._started.add(stream)
            fields["s"] = "1"
        return fields

    def _put_back(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        """A failed XADD: its entries go out again (merged with newer)."""
        streams = self._keys()
        for key, fields in entries:
            stream = streams[key]
            data = json.loads(fields["d"])
            if stream == CACHES:
                self._invalidations[:0] = data["inv"]
                continue
            if fields.get("s") == "1":
                self._started.discard(stream)  # the retry is the first entry
            pending = self._pending.setdefault(stream, _Pending())
            pending.users.update(data.pop("users", ()))
            pending.rooms.update(data.pop("rooms", ()))
            for kind, rows in data.items():
                pending.rows.setdefault(kind, [])[:0] = [(None, r) for r in rows]
            self._published.pop(stream, None)

    # Reading.

    def _on_connected(self, connected: bool) -> None:
        self.connected = connected
        if connected:
            # Readers that lost entries while Redis was away learn this
            # process's positions again.
            self._republish([])

    def _republish(self, _keys: list[Any]) -> None:
        """Publish the position of every stream this process writes, moved
        or not (a reader after a gap asked, or Redis came back)."""
        for stream in SYNC_STREAM_NAMES:
            if self.topology.writes(stream):
                self._published.pop(stream, None)
                self.position_moved(stream)

    def _on_gap(self, keys: list[str]) -> None:
        streams = self._keys()
        for key in keys:
            stream = streams[key]
            logger.warning("replication: gap in %s; resynchronising", stream)
            if stream == CACHES:
                for sink in self._invalidation_sinks.values():
                    sink([])
                continue
            if self._sole_writer(stream):
                continue  # fed here: nothing of it was lost
            self._gapped.add(stream)
            for reset in self._gap_resets.get(stream, []):
                reset(UNKNOWN)
        # The writers answer with their positions; the first entry of each
        # stream after the gap ends it (``_apply``).
        self.invalidate(POSITIONS, [])
        self.notifier.wake_all()

    def _sole_writer(self, stream: str) -> bool:
        if stream == EVENTS.name:
            return self.topology.event_writers() == (self.name,)
        return self.topology.writes(stream)

    def _on_entries(self, batch: list[Entry]) -> None:
        streams = self._keys()
        now = time.time()
        caches = self.key(CACHES)
        # Invalidations before positions (the writer sent them first too).
        batch = sorted(batch, key=lambda entry: entry.key != caches)
        for entry in batch:
            stream = streams[entry.key]
            self._lag[stream] = max(0.0, now - entry.millis / 1000)
            self._applied[entry.key] = self._applied.get(entry.key, 0) + 1
            writer = entry.fields.get("i", "")
            if writer == self.name:
                continue
            try:
                self._apply(stream, writer, entry.fields)
            except Exception:
                logger.exception("replication: cannot apply an entry of %s", stream)
        for stream in {streams[entry.key] for entry in batch}:
            LAG_SECONDS.labels(stream).set(self._lag[stream])

    def _apply(self, stream: str, writer: str, fields: dict[str, str]) -> None:
        data = json.loads(fields.get("d") or "{}")
        if stream == CACHES:
            for item in data.get("inv", ()):
                sink = self._invalidation_sinks.get(item["c"])
                if sink is not None:
                    sink(item["k"])
            return
        position = int(fields["p"])
        if stream in self._gapped:
            self._gapped.discard(stream)
            for reset in self._gap_resets.get(stream, []):
                reset(position)
            self.notifier.wake_all()
        if fields.get("s") == "1" and position > self._head(stream):
            self._unexplained_advance(stream, writer, position)
        users = set(data.pop("users", ()))
        rooms = set(data.pop("rooms", ()))
        for kind, rows in data.items():
            row_sink = self._sinks.get((stream, kind))
            if row_sink is None:
                continue
            more = row_sink(rows, position)
            if more is not None:
                users.update(more[0])
                rooms.update(more[1])
        self._advance(stream, writer, position)
        if users or rooms:
            self.notifier.wake(users=users, rooms=rooms)
        for listener in self._listeners.get(stream, []):
            listener(self.streams.ids_by_name(stream).current_position())
        if stream == EVENTS.name and self.topology.writes(EVENTS.name):
            self.position_moved(EVENTS.name)  # the idle writer's bump

    def _head(self, stream: str) -> int:
        """The furthest position of ``stream`` this process knows of."""
        known = self._writer_positions.get(stream, {}).values()
        current = self.streams.ids_by_name(stream).current_position()
        return max(known, default=current)

    def _unexplained_advance(self, stream: str, writer: str, position: int) -> None:
        """A writer's first entry since it started is past everything known:
        what its earlier run committed and died before publishing has no
        entry, so sinks fed from rows cannot vouch for that range. It is
        treated as a gap ending at ``position``."""
        logger.warning(
            "replication: %s started at %s %d, past what was heard; resynchronising",
            writer,
            stream,
            position,
        )
        for reset in self._gap_resets.get(stream, []):
            reset(position)
        self.notifier.wake_all()

    def _advance(self, stream: str, writer: str, position: int) -> None:
        generator = self.streams.ids_by_name(stream)
        known = self._writer_positions.setdefault(stream, {})
        if position < known.get(writer, position) and stream in self._in_memory:
            # The writer of a stream kept only in memory (typing) restarted
            # at 0: follow it down, as one process's own restart does
            # (clients' tokens from before read as "from the future").
            generator.rewind({writer: position})
            known[writer] = position
        generator.advance(writer, position)
        known[writer] = max(position, known.get(writer, position))
        POSITION.labels(stream, writer).set(known[writer])

    # Lifecycle.

    async def prepare(self) -> None:
        """Before the positions are loaded: note each stream's tail."""
        if self.bus is None:
            return
        bus = self.bus
        delay = RETRY_FIRST
        while True:
            try:
                self._tails = await bus.runner(
                    lambda: bus.tails(self._keys(), TAIL_SCAN)
                )
                return
            except Exception as exc:
                logger.warning("replication: waiting for Redis at start: %s", exc)
                await self.clock.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def start(self) -> None:
        """After the positions are loaded: streams written elsewhere start
        where their writers last published; then follow every stream."""
        if self.bus is None:
            return
        streams = self._keys()
        for key, entries in self._tails.items():
            stream = streams[key]
            if stream == CACHES or self.topology.writes(stream):
                continue
            last: dict[str, int] = {}
            for entry in entries:  # newest first
                last.setdefault(entry.fields.get("i", ""), int(entry.fields["p"]))
            if last:
                self.streams.ids_by_name(stream).rewind(last)
                self._writer_positions[stream] = dict(last)
        last_ids = {
            key: (entries[0].entry_id if entries else START)
            for key, entries in self._tails.items()
        }
        self._tails = {}
        self.notifier.observe(self.on_notify)
        self.bus.start(last_ids)

    def stop(self) -> None:
        """At shutdown."""
        if self.bus is not None:
            self.bus.close()

    def _behind(self, stream: str) -> int:
        """Entries of ``stream`` read from Redis and not applied yet."""
        if self.bus is None:
            return 0
        key = self.key(stream)
        return self.bus.delivered.get(key, 0) - self._applied.get(key, 0)

    def status(self) -> JsonDict:
        """This process's name, role, pid, positions, lag and Redis state."""
        positions = self.streams.sync_positions()
        return {
            "name": self.name,
            "role": str(self.topology.this.role),
            "pid": os.getpid(),
            "positions": positions,
            "writers": {s: dict(w) for s, w in self._writer_positions.items()},
            "lag": {
                name: {
                    "entries": self._behind(name),
                    "seconds": round(self._lag.get(name, 0.0), 3),
                }
                for name in positions
            },
            "redis": "connected" if self.connected else "down",
        }
