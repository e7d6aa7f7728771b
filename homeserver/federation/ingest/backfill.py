"""Backfill: fetching a room's older history from other servers for /messages.

Spec: server-server-api.md "Backfilling and retrieving missing events". When
a client pages backwards into a gap (a backward extremity: an event the DAG
points at that we lack, e.g. what preceded our join), we ask a server in the
room for GET /backfill from the gaps, take what comes back (oldest first)
through the remote event pipeline as historic events, then answer. Historic
events get stream orderings below every existing one, so /sync never reports
them as new.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from homeserver.events.model import Event
from homeserver.federation.ingest.events import FederationEventService
from homeserver.federation.ingest.fetch import FetchFailed, RemoteEventFetcher
from homeserver.federation.ingest.verify import PduDropped
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.federation import FederationStore
from homeserver.util.clock import Clock
from homeserver.util.linearizer import Linearizer

logger = logging.getLogger(__name__)

# How many gaps to name in one /backfill request, and the most events to ask for.
MAX_EXTREMITIES = 20
MAX_BACKFILL_LIMIT = 100
# After a failed attempt, wait this long before trying the room again.
RETRY_AFTER_MS = 60_000


class Backfiller:
    """Fills a room's history gaps from other servers."""

    def __init__(
        self,
        *,
        server_name: str,
        store: FederationStore,
        events: EventStore,
        pipeline: FederationEventService,
        fetcher: RemoteEventFetcher,
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.events = events
        self.pipeline = pipeline
        self.fetcher = fetcher
        self.clock = clock
        self._linearizer = Linearizer()
        self._failed_at: dict[str, int] = {}

    async def should_backfill(
        self, room_id: str, page: Sequence[Event], limit: int
    ) -> bool:
        """Whether a backwards page of ``limit`` read ``page`` up to a gap."""
        gap_depth = await self.store.get_backward_extremity_depth(room_id)
        if gap_depth is None:
            return False
        failed = self._failed_at.get(room_id)
        if failed is not None and self.clock.time_msec() - failed < RETRY_AFTER_MS:
            return False
        if len(page) < limit:
            return True
        return min(e.depth for e in page) <= gap_depth

    async def backfill(self, room_id: str, limit: int) -> bool:
        """Ask the room's other servers, in turn, for history before its gaps.

        Returns:
            Whether any new events were stored.
        """
        async with self._linearizer.queue(room_id):
            extremities = await self.store.get_backward_extremities(room_id)
            if not extremities:
                return False
            version = await self.pipeline.room_version(room_id)
            servers = sorted(await self.store.get_joined_servers(room_id))
            servers = [s for s in servers if s != self.server_name]
            limit = max(1, min(limit, MAX_BACKFILL_LIMIT))
            for server in servers:
                try:
                    found = await self.fetcher.backfill(
                        server, version, room_id, extremities[:MAX_EXTREMITIES], limit
                    )
                except FetchFailed:
                    continue
                stored = await self._store(server, room_id, found)
                logger.info(
                    "backfilled %d of %d events in %s from %s",
                    stored,
                    len(found),
                    room_id,
                    server,
                )
                if stored:
                    self._failed_at.pop(room_id, None)
                    return True
            logger.info("could not backfill %s from %s", room_id, servers)
            self._failed_at[room_id] = self.clock.time_msec()
            return False

    async def _store(self, server: str, room_id: str, found: list[Event]) -> int:
        """Take the events through the pipeline, oldest first; how many were new."""
        stored = 0
        for event in sorted(found, key=lambda e: (e.depth, e.event_id)):
            if event.room_id != room_id:
                continue
            existing = await self.events.get_event(event.event_id)
            if existing is not None and not existing.outlier:
                continue
            try:
                await self.pipeline.process_event(
                    server, event, fetch_missing=False, backfilled=True
                )
            except PduDropped as exc:
                logger.warning("backfilled event %s dropped: %s", event.event_id, exc)
                continue
            stored += 1
        return stored
