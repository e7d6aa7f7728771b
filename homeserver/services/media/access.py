"""When local media was last served, for retention (docs/media.md, "Retention").

A download or thumbnail only notes the media ID and the time in memory; a
timer writes what was noted in one transaction every minute (as Synapse's
``mark_recently_accessed``), so serving a file costs no database write.
"""

from __future__ import annotations

import logging
from typing import Any

from twisted.internet import defer, task

from homeserver.storage.stores.media_lifecycle import MediaLifecycleStore
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 60.0


class AccessRecorder:
    """Collects the media IDs served since the last flush.

    Args:
        store: where ``last_access_ts`` is written.
        clock: for the timer and the timestamps.
    """

    def __init__(self, *, store: MediaLifecycleStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        # media ID -> when it was last served (ms)
        self._pending: dict[str, int] = {}
        self._timer: task.LoopingCall | None = None

    def start(self) -> None:
        """Start the periodic flush."""
        if self._timer is None:
            self._timer = self.clock.looping_call(FLUSH_INTERVAL_SECONDS, self._tick)

    def stop(self) -> None:
        """Stop the periodic flush."""
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._timer = None

    def _tick(self) -> defer.Deferred[Any]:
        return run_in_background("media_access_flush", self.flush())

    def mark(self, media_id: str) -> None:
        """``media_id`` was just served."""
        self._pending[media_id] = self.clock.time_msec()

    def is_pending(self, media_id: str) -> bool:
        """Served since the last flush (its row does not say so yet)."""
        return media_id in self._pending

    async def flush(self) -> None:
        """Write the access times collected so far."""
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            await self.store.update_last_access(batch)
        except BaseException:
            # Keep them for the next flush rather than lose the accesses
            # (later accesses noted meanwhile win).
            self._pending = {**batch, **self._pending}
            raise
