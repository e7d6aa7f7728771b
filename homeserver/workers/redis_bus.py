"""Redis Streams for replication, spoken by redis-py's synchronous client on threads.

Why threads and not redis-py's asyncio client (docs/architecture.md,
"Workers"): the reactor is Twisted's epoll reactor, and running asyncio
code on it needs the asyncio reactor for the whole process. One blocking
``XREAD BLOCK`` on a daemon thread costs nothing while idle, batches
whatever arrived while the reactor was busy, and hands each batch over with
one ``callFromThread``; XADDs run on a pool of one thread (so one process's
entries keep their order) through the injected runner.

The reader thread:

- reads every replication stream from the last ID it has seen
  (``XREAD BLOCK ... COUNT ... STREAMS k1 k2 ... id1 id2 ...``);
- on a connection error reports the bus down, waits (0.1 s doubling to 5 s)
  and reconnects;
- on every (re)connection checks each stream for a gap (the stream was
  trimmed past the last ID read, or Redis lost it in a restart) and reports
  the streams with one before reading on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from homeserver.storage.database import Runner

logger = logging.getLogger(__name__)

START = "0-0"
"""The ID before every entry."""
BLOCK_MS = 5_000
READ_COUNT = 1_000
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0


@attrs.frozen
class Entry:
    """One stream entry: which key, its ID and its fields (decoded)."""

    key: str
    entry_id: str
    fields: dict[str, str]

    @property
    def millis(self) -> int:
        """When Redis added it (the ID's milliseconds part)."""
        return int(self.entry_id.split("-", 1)[0])


def parse_id(entry_id: str) -> tuple[int, int]:
    """A stream ID as a comparable pair."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class RedisBus:
    """This process's connection to the replication streams.

    Args:
        url: the Redis URL.
        hand_off: runs a callable on the reactor thread (the reactor's
            ``callFromThread``; tests pump a queue instead).
        runner: runs a blocking call off the reactor (a pool of one thread).
        on_entries: receives each batch of entries, on the reactor.
        on_gap: receives the keys that had a gap, on the reactor, before the
            entries read after it.
        on_connected: receives True/False when the reader's connection
            comes up or goes down, on the reactor.
        maxlen: entries kept per stream (XADD MAXLEN ~).
        client_name: names its connections (``CLIENT LIST``), with
            ``:reader`` or ``:writer`` appended.
    """

    def __init__(
        self,
        *,
        url: str,
        hand_off: Callable[..., Any],
        runner: Runner,
        on_entries: Callable[[list[Entry]], None],
        on_gap: Callable[[list[str]], None],
        on_connected: Callable[[bool], None],
        maxlen: int,
        client_name: str,
    ) -> None:
        self.url = url
        self.client_name = client_name
        self.hand_off = hand_off
        self.runner = runner
        self.on_entries = on_entries
        self.on_gap = on_gap
        self.on_connected = on_connected
        self.maxlen = maxlen
        self._writer = self._connect("writer")
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._reader: redis.Redis | None = None
        self._last_ids: dict[str, str] = {}
        # Entries handed to the reactor, per key (the lag in entries is
        # these minus those applied).
        self.delivered: dict[str, int] = {}

    def _connect(self, role: str) -> redis.Redis:
        # No retries inside redis-py: a lost connection surfaces at once,
        # and the reader's own loop (or the publisher's) reconnects.
        return redis.Redis.from_url(
            self.url,
            decode_responses=True,
            socket_connect_timeout=5,
            # Past the longest XREAD BLOCK, so an idle stream never looks
            # like a dead connection.
            socket_timeout=BLOCK_MS / 1000 + 10,
            health_check_interval=30,
            client_name=f"{self.client_name}:{role}",
            retry=Retry(NoBackoff(), 0),
        )

    def tails(self, keys: Iterable[str], per_key: int = 1) -> dict[str, list[Entry]]:
        """The last ``per_key`` entries of each stream, newest first
        (blocking: call from a thread).

        Raises:
            redis.RedisError: Redis cannot be reached.
        """
        pipe = self._writer.pipeline(transaction=False)
        keys = list(keys)
        for key in keys:
            pipe.xrevrange(key, count=per_key)
        found = pipe.execute()
        return {
            key: [Entry(key, eid, dict(fields)) for eid, fields in entries]
            for key, entries in zip(keys, found, strict=True)
        }

    async def publish(self, key: str, fields: Mapping[str, str]) -> str:
        """XADD one entry (on the runner's thread); its ID.

        Raises:
            redis.RedisError: it could not be added.
        """
        entry: dict[Any, Any] = dict(fields)
        return str(
            await self.runner(
                lambda: self._writer.xadd(
                    key, entry, maxlen=self.maxlen, approximate=True
                )
            )
        )

    def start(self, last_ids: Mapping[str, str] | None = None) -> None:
        """Start the reader thread, reading each key after its ID (after
        ``stop``: where it stopped, as after a lost connection)."""
        if last_ids is not None:
            self._last_ids = dict(last_ids)
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(self._stopping,),
            name="replication-reader",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the reader thread: close its connection (which ends a
        blocking XREAD) and wait for it."""
        self._stopping.set()
        reader = self._reader
        if reader is not None:
            reader.close()
        if self._thread is not None:
            self._thread.join(0.2)
            if self._thread.is_alive():
                # It was between commands and its XREAD opened a new
                # connection: end that one from the server's side.
                self._kill_reader_connections()
            self._thread.join(timeout)
            self._thread = None

    def _kill_reader_connections(self) -> None:
        name = f"{self.client_name}:reader"
        try:
            for info in self._writer.client_list():
                if info.get("name") == name:
                    self._writer.client_kill_filter(_id=info["id"])
        except redis.RedisError as exc:
            logger.warning("replication: cannot end the reader's XREAD: %s", exc)

    def close(self) -> None:
        """At shutdown: stop reading, close the publishing connection."""
        self.stop()
        self._writer.close()

    def _run(self, stopping: threading.Event) -> None:
        backoff = BACKOFF_FIRST
        conn: redis.Redis | None = None
        while not stopping.is_set():
            try:
                if conn is None:
                    conn = self._reader = self._connect("reader")
                    gaps = self._check_gaps(conn)
                    if stopping.is_set():
                        break
                    self.hand_off(self.on_connected, True)
                    if gaps:
                        self.hand_off(self.on_gap, gaps)
                    backoff = BACKOFF_FIRST
                self._read_once(conn, stopping)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if stopping.is_set():
                    break
                if conn is not None:
                    logger.warning("replication: Redis connection lost: %s", exc)
                    self.hand_off(self.on_connected, False)
                    conn.close()
                    conn = None
                stopping.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            except Exception:
                if stopping.is_set():
                    break
                logger.exception("replication: reader failed; reconnecting")
                conn = None
                stopping.wait(BACKOFF_MAX)
        if conn is not None:
            conn.close()
        if self._reader is conn:
            self._reader = None

    def _read_once(self, conn: redis.Redis, stopping: threading.Event) -> None:
        if stopping.is_set():
            return
        streams: dict[Any, Any] = dict(self._last_ids)
        found: Any = conn.xread(streams, count=READ_COUNT, block=BLOCK_MS)
        if stopping.is_set():
            return  # not handed over: read again after a restart
        batch: list[Entry] = []
        for key, entries in found or ():
            for entry_id, fields in entries:
                batch.append(Entry(key, entry_id, dict(fields)))
            if entries:
                self._last_ids[key] = entries[-1][0]
                self.delivered[key] = self.delivered.get(key, 0) + len(entries)
        if batch:
            self.hand_off(self.on_entries, batch)

    def _check_gaps(self, conn: redis.Redis) -> list[str]:
        """The keys whose entries after our last ID may not all be there.
        Trimming removes the oldest entries first, so while the last entry
        we read is still in the stream nothing after it is gone; once it is
        gone and newer ones were added, some of those may be too (XTRIM does
        not move ``max-deleted-entry-id``). A stream that is missing or ends
        before our last ID was lost with a Redis restart: it is read again
        from its start."""
        gaps = []
        for key, last in self._last_ids.items():
            if last == START:
                continue
            try:
                info = conn.xinfo_stream(key)
            except redis.ResponseError:  # no such key: Redis lost it
                gaps.append(key)
                self._last_ids[key] = START
                continue
            newest = str(info.get("last-generated-id") or START)
            if parse_id(newest) < parse_id(last):
                gaps.append(key)
                self._last_ids[key] = START
            elif newest != last and not conn.xrange(key, last, last, count=1):
                gaps.append(key)
        return gaps
