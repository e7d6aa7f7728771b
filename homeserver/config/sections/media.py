"""Config section: the content repository (docs/media.md)."""

from __future__ import annotations

import attrs

from homeserver.config.fields import option, positive
from homeserver.config.sections.media_storage import MediaStorageConfig
from homeserver.util.structure import ByteSize, Duration


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
