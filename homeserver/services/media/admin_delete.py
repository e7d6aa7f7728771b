"""Deleting local media as an admin, at Synapse's paths.

``DELETE /_synapse/admin/v1/media/{serverName}/{mediaId}``, ``POST
.../media/delete?before_ts=&size_gt=&keep_profiles=`` (and the deprecated
``.../media/{serverName}/delete``), and ``DELETE .../users/{userId}/media``,
as Synapse's admin API documents them: each answers ``{deleted_media, total}``.

A file's bytes go first, then its record: if the bytes cannot be removed the
record stays (listed, and deletable again) and the file is not reported as
deleted; either way nothing is served once its bytes are gone.
"""

from __future__ import annotations

import logging

from homeserver.errors import InvalidParam, NotFound
from homeserver.services.media.admin import MediaAdmin, MediaPage, check_media_id
from homeserver.services.media.admin_checks import check_before_ts
from homeserver.services.media.storage import MediaStorage, media_path
from homeserver.services.media.thumbnails import ThumbnailService
from homeserver.storage.stores.media_admin import MediaAdminStore
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)


def _deleted(media_ids: list[str]) -> JsonDict:
    return {"deleted_media": media_ids, "total": len(media_ids)}


class MediaDeletion:
    """Deletes local media: records and files.

    Args:
        server_name: this server's name.
        store: local media records.
        storage: where the files are.
        admin: for the user checks and pages shared with listing.
        thumbnails: removes the media's thumbnails (files and rows) first.
    """

    def __init__(
        self,
        *,
        server_name: str,
        store: MediaAdminStore,
        storage: MediaStorage,
        admin: MediaAdmin,
        thumbnails: ThumbnailService,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.storage = storage
        self.admin = admin
        self.thumbnails = thumbnails

    def _local_only(self, server_name: str) -> None:
        if server_name != self.server_name:
            raise InvalidParam("Can only delete local media")

    async def delete_media(self, server_name: str, media_id: str) -> JsonDict:
        """Delete one local file.

        Raises:
            MatrixError: 400 M_INVALID_PARAM for remote media or a malformed
                ID; 404 M_NOT_FOUND for an unknown one.
        """
        self._local_only(server_name)
        check_media_id(media_id)
        if await self.store.get_record(media_id) is None:
            raise NotFound("Unknown media")
        return _deleted(await self._delete([media_id]))

    async def delete_old(
        self,
        before_ts: int | None,
        size_gt: int | None,
        keep_profiles: bool,
        server_name: str | None = None,
    ) -> JsonDict:
        """Delete local media last used before ``before_ts`` (ms) and larger
        than ``size_gt`` bytes, except quarantined and protected media and,
        with ``keep_profiles``, user and room avatars.

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a negative or seconds-sized
                ``before_ts``, a negative ``size_gt``, or another server's name.
        """
        if server_name is not None:
            self._local_only(server_name)
        before_ts = check_before_ts(before_ts)
        size_gt = 0 if size_gt is None else size_gt
        if size_gt < 0:
            raise InvalidParam("Query parameter size_gt must be a positive integer.")
        prefix = f"mxc://{self.server_name}/" if keep_profiles else None
        media_ids = await self.store.old_media_ids(before_ts, size_gt, prefix)
        return _deleted(await self._delete(media_ids))

    async def delete_user_media(self, user_id: str, page: MediaPage) -> JsonDict:
        """Delete one page (as listing would show it) of a local user's media."""
        await self.admin.local_user(user_id)
        records, _ = await self.store.list_user_media(
            user_id, page.start, page.limit, page.order_by, page.forwards
        )
        return _deleted(await self._delete([r.media_id for r in records]))

    async def _delete(self, media_ids: list[str]) -> list[str]:
        """Remove the files, then the records, of ``media_ids``; those done."""
        removed = []
        for media_id in media_ids:
            try:
                await self._remove_files(media_id)
            except Exception:
                logger.exception("could not remove the files of media %s", media_id)
                continue
            removed.append(media_id)
        deleted = await self.store.delete_records(removed)
        logger.info("media deleted", extra={"count": len(deleted)})
        return deleted

    async def _remove_files(self, media_id: str) -> None:
        try:
            path = media_path(media_id)
        except ValueError:
            return  # an ID too short to have a file (never one of ours)
        await self.thumbnails.delete_thumbnails(media_id)
        await self.storage.delete(path)
