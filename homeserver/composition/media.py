"""The media domain: the content repository over a storage back end."""

from __future__ import annotations

import logging
from pathlib import Path

import attrs

from homeserver.composition.core import Core
from homeserver.http_client.untrusted import UntrustedHttpClient, preview_client
from homeserver.services.media.access import AccessRecorder
from homeserver.services.media.limits import UploadLimits
from homeserver.services.media.plugged_storage import PluggedMediaStorage
from homeserver.services.media.preview.fetch import PreviewFetcher
from homeserver.services.media.preview.previewer import UrlPreviewer
from homeserver.services.media.remote import RemoteMediaCache
from homeserver.services.media.remote_thumbnails import RemoteThumbnails
from homeserver.services.media.repository import MediaRepository
from homeserver.services.media.retention import MediaRetention
from homeserver.services.media.storage import LocalMediaStorage, MediaStorage
from homeserver.services.media.thumbnailer import Thumbnailer
from homeserver.services.media.thumbnails import ThumbnailService
from homeserver.storage.stores.media import MediaStore
from homeserver.storage.stores.media_lifecycle import MediaLifecycleStore
from homeserver.storage.stores.media_thumbnails import ThumbnailStore
from homeserver.storage.stores.remote_media import RemoteMediaStore
from homeserver.storage.stores.url_cache import UrlCacheStore
from homeserver.util.background import run_in_background

logger = logging.getLogger(__name__)


def build_media_storage(*, core: Core, data_dir: Path) -> MediaStorage:
    """The back end ``media.storage`` asks for (docs/media.md); a name other
    than local or s3 is a plugin's back end, plugged in by the bind step."""
    config = core.config.media
    local = LocalMediaStorage(config.store_root(data_dir), core.blocking_runner)
    if config.storage.backend == "local":
        return local
    if config.storage.backend != "s3":
        return PluggedMediaStorage(config.storage.backend)
    from homeserver.services.media.s3_storage import (
        CachedS3MediaStorage,
        S3MediaStorage,
        make_s3_client,
    )

    s3_config = config.storage.s3
    logger.info(
        "media storage: S3 bucket %s, prefix %r, mode %s",
        s3_config.bucket,
        s3_config.prefix,
        s3_config.mode,
    )
    s3 = S3MediaStorage(make_s3_client(s3_config), s3_config, core.io_runner)
    if s3_config.mode == "s3_only":
        return s3
    return CachedS3MediaStorage(local, s3)


@attrs.frozen(kw_only=True)
class MediaBundle:
    """Uploads and downloads of media, their thumbnails, limits and retention."""

    repository: MediaRepository
    thumbnails: ThumbnailService
    remote_thumbnails: RemoteThumbnails
    previewer: UrlPreviewer | None
    """URL previews; None unless ``url_preview.enabled``."""
    access: AccessRecorder
    retention: MediaRetention
    storage: MediaStorage
    """Where media files are kept (a ``PluggedMediaStorage`` when a plugin
    provides the back end)."""

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        data_dir: Path,
        preview_http: UntrustedHttpClient | None = None,
    ) -> MediaBundle:
        """``preview_http``: the client previews fetch with (tests give one
        with a fixed DNS table); by default ``preview_client`` of the config."""
        config = core.config.media
        storage = build_media_storage(core=core, data_dir=data_dir)
        lifecycle = MediaLifecycleStore(core.db)
        access = AccessRecorder(store=lifecycle, clock=core.clock)
        limits = UploadLimits(
            config=config,
            store=lifecycle,
            ratelimiter=core.ratelimiter,
            rate=core.config.rate_limiting.media_create,
            clock=core.clock,
            admin_contact=core.config.admin.admin_contact,
        )
        repository = MediaRepository(
            server_name=core.server_name,
            store=MediaStore(core.db),
            storage=storage,
            config=config,
            clock=core.clock,
            limits=limits,
            access=access,
            remote=RemoteMediaCache(
                store=RemoteMediaStore(core.db),
                storage=storage,
                config=config,
                clock=core.clock,
            ),
        )
        thumbnailer = Thumbnailer(core.blocking_runner, int(config.max_image_pixels))
        thumbnails = ThumbnailService(
            repository=repository,
            store=ThumbnailStore(core.db),
            storage=storage,
            thumbnailer=thumbnailer,
            config=config,
        )
        return cls(
            repository=repository,
            thumbnails=thumbnails,
            remote_thumbnails=RemoteThumbnails(
                cache=repository.remote,
                thumbnails=thumbnails,
                thumbnailer=thumbnailer,
                storage=storage,
                clock=core.clock,
            ),
            previewer=_previewer(core, repository, preview_http),
            access=access,
            storage=storage,
            retention=MediaRetention(
                server_name=core.server_name,
                config=config,
                store=lifecycle,
                storage=storage,
                thumbnails=thumbnails,
                remote=repository.remote,
                access=access,
                clock=core.clock,
            ),
        )

    def start_jobs(self) -> None:
        """The media jobs (one process of a deployment, docs/scaling.md):
        release uploads a previous run left claimed, and run retention."""
        run_in_background(
            "media_release_claims", self.repository.store.release_all_claims()
        )
        self.retention.start()


def _previewer(
    core: Core, repository: MediaRepository, http: UntrustedHttpClient | None
) -> UrlPreviewer | None:
    config = core.config.url_preview
    if not config.enabled:
        return None
    fetcher = PreviewFetcher(
        config=config,
        client=http or preview_client(core.reactor, config),
        media=repository,
        runner=core.blocking_runner,
    )
    return UrlPreviewer(
        config=config,
        fetcher=fetcher,
        store=UrlCacheStore(core.db),
        clock=core.clock,
        runner=core.blocking_runner,
    )
