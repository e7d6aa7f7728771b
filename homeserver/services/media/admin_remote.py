"""The media admin API for other servers' media, as this server caches it
(``remote.py``): media info, quarantine, and ``POST
/_synapse/admin/v1/purge_media_cache?before_ts=`` (Synapse's "Purge Remote
Media API").

Quarantine is kept on the cache entry, which the cache checks before serving
or fetching. A file quarantined before this server ever fetched it gets an
entry with no file (``media_length`` 0), so it is never fetched while
quarantined; once unquarantined, its first download finds no file, drops the
entry and fetches it. The purge never removes quarantined entries: with them
would go their quarantine.
"""

from __future__ import annotations

import logging

from homeserver.errors import Codes, MatrixError, NotFound
from homeserver.services.media.admin_checks import check_before_ts
from homeserver.services.media.remote import RemoteMediaCache
from homeserver.services.media.remote_paths import check_server_name
from homeserver.storage.stores.media_admin import MediaAdminStore
from homeserver.storage.stores.remote_media import RemoteMedia
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.tokens import random_string

logger = logging.getLogger(__name__)

_PURGE_BATCH = 500


def _server(server_name: str) -> None:
    try:
        check_server_name(server_name)
    except ValueError:
        raise MatrixError(400, "Invalid server name", Codes.INVALID_PARAM) from None


class RemoteMediaAdmin:
    """Admin operations on cached remote media.

    Args:
        store: the admin's queries (quarantine, what to purge).
        cache: the remote media cache (entries, and deleting them).
        clock: for the time of a quarantine placeholder.
    """

    def __init__(
        self, *, store: MediaAdminStore, cache: RemoteMediaCache, clock: Clock
    ) -> None:
        self.store = store
        self.cache = cache
        self.clock = clock

    async def media_info(self, server_name: str, media_id: str) -> JsonDict:
        """``media_info`` of a cached file; 404 if it is not cached."""
        _server(server_name)
        media = await self.cache.store.get_remote_media(server_name, media_id)
        if media is None:
            raise NotFound("Unknown media")
        return {
            "media_origin": media.server_name,
            "user_id": None,
            "media_id": media.media_id,
            "media_type": media.media_type,
            "media_length": media.media_length,
            "upload_name": media.upload_name,
            "created_ts": media.created_ts,
            "filesystem_id": media.filesystem_id,
            "url_cache": None,
            "last_access_ts": media.last_access_ts,
            "quarantined_by": None,
            "quarantined": media.quarantined,
            "authenticated": media.authenticated,
            "safe_from_quarantine": None,
            "sha256": None,
        }

    async def quarantine(self, server_name: str, media_id: str) -> None:
        """Quarantine a remote file, cached or not."""
        _server(server_name)
        now = self.clock.time_msec()
        await self.store.quarantine_remote(
            RemoteMedia(
                server_name=server_name,
                media_id=media_id,
                media_type=None,
                upload_name=None,
                media_length=0,
                created_ts=now,
                last_access_ts=now,
                filesystem_id=random_string(24),
                quarantined=True,
            )
        )
        logger.info(
            "remote media quarantined",
            extra={"origin": server_name, "media_id": media_id},
        )

    async def unquarantine(self, server_name: str, media_id: str) -> None:
        """Serve a remote file again (no error if it was not quarantined)."""
        _server(server_name)
        await self.store.unquarantine_remote(server_name, media_id)

    async def purge(self, before_ts: int | None) -> JsonDict:
        """Delete cached remote files last used before ``before_ts`` (ms),
        thumbnails and all: ``{deleted: n}``. A file whose bytes cannot be
        removed is kept (and logged), to be purged by a later call.

        Raises:
            MatrixError: 400 for a missing, negative or seconds-sized
                ``before_ts``.
        """
        before = check_before_ts(before_ts)
        deleted = 0
        while True:
            batch = await self.store.remote_purgeable(before, _PURGE_BATCH)
            done = 0
            for server_name, media_id in batch:
                try:
                    done += await self.cache.delete_cached(server_name, media_id)
                except Exception:
                    logger.exception(
                        "could not purge remote media %s/%s", server_name, media_id
                    )
            deleted += done
            # A short batch was the last; a batch of nothing but failures
            # would come back the same, so stop there too.
            if len(batch) < _PURGE_BATCH or done == 0:
                return {"deleted": deleted}
