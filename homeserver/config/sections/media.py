"""Config section: the content repository (docs/media.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import attrs

from homeserver.config.fields import option, positive
from homeserver.config.sections.media_lifecycle import (
    MediaRetentionConfig,
    MediaUploadLimit,
)
from homeserver.config.sections.media_storage import MediaStorageConfig
from homeserver.util.structure import ByteSize, Duration


@attrs.frozen(kw_only=True)
class ThumbnailSizeOption:
    """One thumbnail size made of every uploaded image."""

    width: int = option(doc="The box's width in pixels.", validator=positive)
    height: int = option(doc="The box's height in pixels.", validator=positive)
    method: Literal["crop", "scale"] = option(
        "scale",
        doc="crop fills the box exactly, cutting the overflow; scale fits the "
        "image inside it keeping its aspect ratio, never enlarging it.",
    )


def _default_thumbnail_sizes() -> list[ThumbnailSizeOption]:
    # Synapse's defaults.
    return [
        ThumbnailSizeOption(width=32, height=32, method="crop"),
        ThumbnailSizeOption(width=96, height=96, method="crop"),
        ThumbnailSizeOption(width=320, height=240, method="scale"),
        ThumbnailSizeOption(width=640, height=480, method="scale"),
        ThumbnailSizeOption(width=800, height=600, method="scale"),
    ]


@attrs.frozen(kw_only=True)
class MediaConfig:
    """Uploads and downloads of media (files, images, avatars)."""

    media_store_path: str = option(
        "media_store",
        doc="Directory for uploaded files, relative to the data directory (or "
        "absolute). Files are kept in a sharded layout: local_content/ab/cd/rest.",
    )
    max_upload_size: ByteSize = option(
        ByteSize(50 * 1024 * 1024),
        doc="Largest file accepted for upload; bigger uploads get 413 M_TOO_LARGE. "
        "Clients read it from /media/config (m.upload.size). Request bodies to "
        "the upload endpoints may be this big, whatever http.max_request_body_size "
        "says.",
        example="50M",
    )
    unused_expiration_time: Duration = option(
        Duration(24 * 3600 * 1000),
        doc="How long a media ID made by POST /_matrix/media/v1/create may wait "
        "for its upload before it expires.",
        validator=positive,
    )
    max_pending_uploads: int = option(
        5,
        doc="How many unexpired, not yet uploaded media IDs (from /create) one "
        "user may hold; more get 429 M_LIMIT_EXCEEDED.",
        validator=positive,
    )
    storage: MediaStorageConfig = option(
        factory=MediaStorageConfig,
        doc="Where media files live: local disk or an S3 bucket "
        "(docs/media.md, Storage back ends).",
    )
    thumbnail_sizes: list[ThumbnailSizeOption] = option(
        factory=_default_thumbnail_sizes,
        doc="Thumbnails made of every uploaded JPEG, PNG, GIF or WebP image right "
        "after its upload. A thumbnail request for another size is answered with "
        "the closest of these (made then if it is missing), unless "
        "dynamic_thumbnails is on.",
    )
    dynamic_thumbnails: bool = option(
        False,
        doc="Make thumbnails of exactly the size a client asks for (stored for "
        "the next request) instead of answering with the closest of "
        "thumbnail_sizes. Costs more CPU and disk.",
    )
    max_image_pixels: ByteSize = option(
        ByteSize(32 * 1024 * 1024),
        doc="Images declaring more pixels than this (width x height, read from "
        "the header before decoding) are not thumbnailed: a request for a "
        "thumbnail of one gets 413 M_TOO_LARGE.",
        example="32M",
        validator=positive,
    )
    max_stored_bytes_per_user: ByteSize | None = option(
        None,
        doc="Quota: the most bytes of media one user may keep stored here (all "
        "their uploads together; deleted media frees its share). An upload past "
        "it gets 403 M_RESOURCE_LIMIT_EXCEEDED and nothing is stored. No quota "
        "when unset.",
        example="1G",
        validator=positive,
    )
    media_upload_limits: list[MediaUploadLimit] = option(
        factory=list,
        doc="Quotas per period, as Synapse's media_upload_limits: a list of "
        "{time_period, max_size}; an upload that would take a user past any of "
        "them gets 403 M_RESOURCE_LIMIT_EXCEEDED and nothing is stored, e.g. "
        "[{time_period: 1h, max_size: 100M}, {time_period: 1d, max_size: 500M}].",
    )
    media_retention: MediaRetentionConfig = option(
        factory=MediaRetentionConfig,
        doc="Deleting unused local media and expiring the remote media cache.",
    )
    enable_authenticated_media: bool = option(
        True,
        doc="As Synapse's option: media uploaded (or fetched from another "
        "server) while this is on is served only by the authenticated routes "
        "(/_matrix/client/v1/media/...); the legacy unauthenticated "
        "/_matrix/media/v3|r0/download and thumbnail routes answer 404 for it. "
        "Media from before it was turned on stays served there.",
    )

    def store_root(self, data_dir: Path) -> Path:
        """The local media directory: ``media_store_path``, relative to
        ``data_dir`` unless absolute."""
        root = Path(self.media_store_path)
        return root if root.is_absolute() else data_dir / root
