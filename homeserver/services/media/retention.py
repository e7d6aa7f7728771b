"""The media retention job (docs/media.md, "Retention"), as Synapse's
``media_retention``.

Every hour: local media nobody served for ``local_media_lifetime`` is deleted
(when set), cached copies of other servers' media not used for
``remote_media_lifetime`` are dropped from the cache (when set; fetched again
when asked for), and /create media IDs that expired without an upload go.
A media's row goes first, then its files (thumbnails too) through the storage
seam, so no
request ever finds a row whose file is gone; a file left behind by a failed
delete is never served, only logged. The remote cache's own
``RemoteMediaCache.delete_cached`` removes files before rows; a cache row
whose file is gone is fetched again, never served broken.
"""

from __future__ import annotations

import logging
from typing import Any

from twisted.internet import defer, task

from homeserver.config.sections.media import MediaConfig
from homeserver.services.media.access import AccessRecorder
from homeserver.services.media.remote import RemoteMediaCache
from homeserver.services.media.storage import MediaStorage, media_path
from homeserver.services.media.thumbnails import ThumbnailService
from homeserver.storage.stores.media_lifecycle import MediaLifecycleStore
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

CHECK_INTERVAL_SECONDS = 3600.0
BATCH_SIZE = 100


class MediaRetention:
    """Deletes unused media on a timer.

    Args:
        server_name: this server's name (for the avatar URIs kept).
        config: the ``media`` config section.
        store: usage and retention queries of local media.
        storage: where the files are.
        thumbnails: removes a media's thumbnails (files and rows).
        remote: the cache of other servers' media.
        access: accesses not yet written, flushed before each run.
        clock: for the timer and the thresholds.
    """

    def __init__(
        self,
        *,
        server_name: str,
        config: MediaConfig,
        store: MediaLifecycleStore,
        storage: MediaStorage,
        thumbnails: ThumbnailService,
        remote: RemoteMediaCache,
        access: AccessRecorder,
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.lifetimes = config.media_retention
        self.store = store
        self.storage = storage
        self.thumbnails = thumbnails
        self.remote = remote
        self.access = access
        self.clock = clock
        self._timer: task.LoopingCall | None = None

    def start(self) -> None:
        """Run the job every hour from now on."""
        if self._timer is None:
            self._timer = self.clock.looping_call(CHECK_INTERVAL_SECONDS, self._tick)

    def stop(self) -> None:
        """Stop the timer."""
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._timer = None

    def _tick(self) -> defer.Deferred[Any]:
        # Returning the Deferred keeps two runs from overlapping.
        return run_in_background("media_retention", self.run())

    async def run(self) -> None:
        """One pass of every retention rule."""
        await self.access.flush()
        now = self.clock.time_msec()
        await self.store.delete_expired_pending(now, BATCH_SIZE * 10)
        remote_lifetime = self.lifetimes.remote_media_lifetime
        if remote_lifetime is not None:
            expired = await self.expire_remote(now - int(remote_lifetime))
            if expired:
                logger.info(
                    "media retention expired cached remote media",
                    extra={"count": expired},
                )
        lifetime = self.lifetimes.local_media_lifetime
        if lifetime is not None:
            deleted = await self.delete_unused_local(now - int(lifetime))
            if deleted:
                logger.info(
                    "media retention deleted unused local media",
                    extra={"count": deleted},
                )

    async def expire_remote(self, before_ms: int) -> int:
        """Drop cached remote media last used before ``before_ms`` (not
        quarantined ones: an admin keeps those); how many went."""
        expired = 0
        skipped: set[tuple[str, str]] = set()
        while True:
            entries = await self.remote.store.get_remote_media_before(
                before_ms, BATCH_SIZE + len(skipped)
            )
            fresh = [e for e in entries if (e.server_name, e.media_id) not in skipped]
            if not fresh:
                return expired
            for entry in fresh:
                key = (entry.server_name, entry.media_id)
                # Looked at again: a download since the listing keeps it.
                current = await self.remote.store.get_remote_media(*key)
                if current is None:
                    continue
                if current.quarantined or current.last_access_ts >= before_ms:
                    skipped.add(key)
                    continue
                try:
                    await self.remote.delete_cached(*key)
                except Exception:
                    logger.exception("could not expire remote media %s/%s", *key)
                    skipped.add(key)
                    continue
                expired += 1

    async def delete_unused_local(self, before_ms: int) -> int:
        """Delete local media last used before ``before_ms`` (not avatars);
        how many went."""
        avatars = await self.store.get_avatar_media_ids(self.server_name)
        deleted = 0
        after: tuple[int, str] | None = None
        while True:
            page = await self.store.get_unused_media(before_ms, after, BATCH_SIZE)
            if not page:
                return deleted
            after = page[-1]
            for _, media_id in page:
                # Served since the last flush: its row does not say so yet.
                if media_id in avatars or self.access.is_pending(media_id):
                    continue
                if not await self.store.delete_if_unused(media_id, before_ms):
                    continue
                await self._delete_files(media_id)
                deleted += 1

    async def _delete_files(self, media_id: str) -> None:
        try:
            await self.thumbnails.delete_thumbnails(media_id)
            await self.storage.delete(media_path(media_id))
        except Exception:
            logger.exception("could not delete the files of expired media %s", media_id)
