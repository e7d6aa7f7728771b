"""Local media: upload (at once, or asynchronously after /create) and download.

Spec: client-server API "Content repository" (v1.11 authenticated media,
v1.7 asynchronous uploads). Another server's media is handed to the remote
media cache (services/media/remote.py), which fetches it over federation.
"""

from __future__ import annotations

import logging
import re

import attrs

from homeserver.config.sections.media import MediaConfig
from homeserver.errors import Codes, Forbidden, MatrixError, NotFound
from homeserver.events.ids import is_valid_server_name
from homeserver.services.accounts.auth import Requester
from homeserver.services.media.access import AccessRecorder
from homeserver.services.media.limits import UploadLimits
from homeserver.services.media.ports import NoUploadListener, UploadListener
from homeserver.services.media.remote import RemoteMediaCache
from homeserver.services.media.storage import MEDIA_ID_RE, MediaStorage, media_path
from homeserver.storage.stores.media import LocalMedia, MediaStore
from homeserver.storage.stores.remote_media import RemoteMedia
from homeserver.types import UserID
from homeserver.util.clock import Clock
from homeserver.util.ports import Port
from homeserver.util.tokens import random_string

logger = logging.getLogger(__name__)

DEFAULT_CONTENT_TYPE = "application/octet-stream"
# RFC 9110 media-type: type "/" subtype, then parameters of printable ASCII.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
CONTENT_TYPE_RE = re.compile(rf"^{_TOKEN}/{_TOKEN}(\s*;[\x20-\x7e]*)?$")


@attrs.frozen
class Upload:
    """One file to store.

    Args:
        data: its bytes.
        content_type: the request's Content-Type (default octet-stream).
        filename: the ``filename`` query parameter, if given.
    """

    data: bytes
    content_type: str | None
    filename: str | None


@attrs.frozen
class MediaFile:
    """A file to serve: its record (local, or a cached remote file's) and bytes."""

    media: LocalMedia | RemoteMedia
    data: bytes


def _cannot_overwrite() -> MatrixError:
    return MatrixError(
        409, "Media ID already has content", Codes.CANNOT_OVERWRITE_MEDIA
    )


class MediaRepository:
    """Uploads and downloads of this server's media.

    Args:
        server_name: this server's name (the server part of its MXC URIs).
        store: media records.
        storage: where the bytes go.
        config: the ``media`` config section.
        clock: for timestamps.
        limits: the upload rate limit and quotas.
        access: records which media are served (for retention).
        remote: other servers' media (fetched over federation, cached).
    """

    def __init__(
        self,
        *,
        server_name: str,
        store: MediaStore,
        storage: MediaStorage,
        config: MediaConfig,
        clock: Clock,
        limits: UploadLimits,
        access: AccessRecorder,
        remote: RemoteMediaCache,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.storage = storage
        self.config = config
        self.clock = clock
        self.remote = remote
        # Told of each finished upload (thumbnails are made then).
        self.uploaded: Port[UploadListener] = Port(NoUploadListener())
        self.limits = limits
        self.access = access

    def mxc(self, media_id: str) -> str:
        """The ``mxc://`` URI of one of our media IDs."""
        return f"mxc://{self.server_name}/{media_id}"

    def _check(self, upload: Upload) -> None:
        ctype = upload.content_type
        if ctype is not None and not (
            len(ctype) <= 255 and CONTENT_TYPE_RE.match(ctype)
        ):
            raise MatrixError(400, "Invalid Content-Type", Codes.INVALID_PARAM)
        if len(upload.data) > int(self.config.max_upload_size):
            raise MatrixError(
                413,
                f"Upload is larger than {int(self.config.max_upload_size)} bytes",
                Codes.TOO_LARGE,
            )

    async def _write(self, media_id: str, data: bytes) -> None:
        await self.storage.store(media_path(media_id), data)

    async def _discard(self, media_id: str) -> None:
        """Remove the file of a failed upload; a failure to is only logged, so
        that the rest of the clean-up still runs."""
        try:
            await self.storage.delete(media_path(media_id))
        except Exception:
            logger.exception("could not remove the file of failed upload %s", media_id)

    async def upload(self, requester: Requester, upload: Upload) -> str:
        """A user's upload: checked against the upload rate limit and the
        quotas, then stored as :meth:`store_upload` does; its ``mxc://`` URI.

        Raises:
            MatrixError: 429 M_LIMIT_EXCEEDED (rate limit), 400 for a bad
                Content-Type, 413 M_TOO_LARGE, 403 M_RESOURCE_LIMIT_EXCEEDED
                past a quota; nothing is stored.
        """
        await self.limits.check_rate(requester)
        self._check(upload)
        async with self.limits.quota(requester.user_id, len(upload.data)):
            return await self.store_upload(requester.user, upload)

    async def store_upload(self, user: UserID, upload: Upload) -> str:
        """Store a new file for ``user``, as the server does on their behalf
        (URL preview images: no rate limit or quota check); its ``mxc://`` URI.

        The file is written before its record, and removed again if the
        record cannot be written, so a failure leaves nothing behind.

        Raises:
            MatrixError: 400 for a bad Content-Type, 413 M_TOO_LARGE.
        """
        self._check(upload)
        media_id = random_string(24)
        await self._write(media_id, upload.data)
        try:
            await self.store.insert_media(
                media_id,
                str(user),
                self.clock.time_msec(),
                media_type=upload.content_type or DEFAULT_CONTENT_TYPE,
                upload_name=upload.filename,
                media_length=len(upload.data),
                authenticated=self.config.enable_authenticated_media,
            )
        except BaseException:
            await self._discard(media_id)
            raise
        await self._after_upload(media_id, upload)
        return self.mxc(media_id)

    async def _after_upload(self, media_id: str, upload: Upload) -> None:
        """Tell the listener; the upload has succeeded whatever it does."""
        try:
            await self.uploaded.get().on_uploaded(
                media_id, upload.content_type or DEFAULT_CONTENT_TYPE, upload.data
            )
        except Exception:
            logger.exception("after-upload work failed for %s", media_id)

    async def create(self, requester: Requester) -> tuple[str, int]:
        """A media ID for a later upload: its URI and expiry (ms).

        Raises:
            MatrixError: 429 M_LIMIT_EXCEEDED past the rate limit, or if the
                user already holds ``max_pending_uploads`` unexpired ones.
        """
        user = requester.user
        await self.limits.check_rate(requester)
        now = self.clock.time_msec()
        pending = await self.store.count_pending(str(user), now)
        if pending >= self.config.max_pending_uploads:
            raise MatrixError(
                429,
                "Too many pending media uploads",
                Codes.LIMIT_EXCEEDED,
                additional={"retry_after_ms": int(self.config.unused_expiration_time)},
            )
        media_id = random_string(24)
        expires = now + int(self.config.unused_expiration_time)
        await self.store.insert_media(
            media_id,
            str(user),
            now,
            unused_expires_ts=expires,
            authenticated=self.config.enable_authenticated_media,
        )
        return self.mxc(media_id), expires

    async def upload_to(
        self, requester: Requester, server_name: str, media_id: str, upload: Upload
    ) -> None:
        """Upload the file of a media ID made by :meth:`create`.

        Raises:
            NotFound: no such pending media ID (or it expired).
            Forbidden: another user created it.
            MatrixError: 409 M_CANNOT_OVERWRITE_MEDIA once it has its file;
                413 M_TOO_LARGE; 403 M_RESOURCE_LIMIT_EXCEEDED past a quota.
        """
        user = requester.user
        media = await self._local(server_name, media_id)
        if media is None:
            raise NotFound("Unknown media ID")
        if media.user_id != str(user):
            raise Forbidden("You did not create this media ID")
        if media.claimed:
            raise _cannot_overwrite()
        now = self.clock.time_msec()
        if (media.unused_expires_ts or 0) <= now:
            raise NotFound("Media ID has expired")
        self._check(upload)
        async with self.limits.quota(str(user), len(upload.data)):
            await self._fill(media_id, upload, now)

    async def _fill(self, media_id: str, upload: Upload, now: int) -> None:
        """Claim a pending media ID, write its file and complete its row."""
        # Claim the ID before writing its file, so that of two concurrent
        # uploads only one ever writes.
        if not await self.store.claim_upload(media_id, now):
            raise _cannot_overwrite()
        try:
            await self._write(media_id, upload.data)
            await self.store.complete_upload(
                media_id,
                upload.content_type or DEFAULT_CONTENT_TYPE,
                upload.filename,
                len(upload.data),
            )
        except BaseException:
            await self._discard(media_id)
            await self.store.release_claim(media_id)
            raise
        await self._after_upload(media_id, upload)

    async def _local(self, server_name: str, media_id: str) -> LocalMedia | None:
        if not MEDIA_ID_RE.match(media_id):
            raise MatrixError(400, "Invalid media ID", Codes.INVALID_PARAM)
        if not is_valid_server_name(server_name):
            raise MatrixError(400, "Invalid server name", Codes.INVALID_PARAM)
        if server_name != self.server_name:
            return None
        return await self.store.get_media(media_id)

    async def local_media(self, media_id: str, *, legacy: bool = False) -> LocalMedia:
        """The record of one of our uploaded media IDs, if it may be served
        (its use is noted for retention).

        Args:
            legacy: asked for on a legacy unauthenticated route.

        Raises:
            MatrixError: 400 for a malformed media ID; 404 M_NOT_FOUND for an
                unknown or quarantined one (and on a legacy route for one
                frozen there); 504 M_NOT_YET_UPLOADED for a pending one.
        """
        media = self._servable(await self._local(self.server_name, media_id), legacy)
        self.access.mark(media_id)
        return media

    def _servable(self, media: LocalMedia | None, legacy: bool) -> LocalMedia:
        if media is None or media.quarantined or self.frozen_for_legacy(media, legacy):
            raise NotFound("Media not found")
        if media.pending:
            raise MatrixError(
                504, "Media has not been uploaded yet", Codes.NOT_YET_UPLOADED
            )
        return media

    def frozen_for_legacy(self, media: LocalMedia, legacy: bool) -> bool:
        """Whether a legacy unauthenticated route must not serve ``media``:
        made while ``enable_authenticated_media`` was on (Synapse's
        ``authenticated`` flag)."""
        return legacy and self.config.enable_authenticated_media and media.authenticated

    async def download(
        self,
        server_name: str,
        media_id: str,
        *,
        allow_remote: bool = True,
        legacy: bool = False,
    ) -> MediaFile:
        """The file of an uploaded media ID, ours or (through the remote
        media cache) another server's.

        Args:
            allow_remote: whether another server's media may be served
                (false for ``allow_remote=false`` and for requests from
                other servers).
            legacy: asked for on a legacy unauthenticated route.

        Raises:
            MatrixError: 400 for a malformed media ID or server name; 404
                M_NOT_FOUND for an unknown or quarantined one, a remote one
                when not ``allow_remote``, and on a legacy route for one
                frozen there; 504 M_NOT_YET_UPLOADED for a pending one; 502
                when a remote file cannot be fetched.
        """
        local = await self._local(server_name, media_id)  # 400 if malformed
        if server_name != self.server_name:
            if not allow_remote:
                raise NotFound("Media not found")
            cached = await self.remote.download(server_name, media_id, legacy=legacy)
            return MediaFile(cached.media, cached.data)
        media = self._servable(local, legacy)
        data = await self.storage.fetch(media_path(media_id))
        if data is None:
            logger.warning("media %s has a record but no file", media_id)
            raise NotFound("Media not found")
        self.access.mark(media_id)
        return MediaFile(media, data)
