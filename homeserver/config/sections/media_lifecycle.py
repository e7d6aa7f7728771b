"""Config parts of the media section: upload limits and retention (docs/media.md)."""

from __future__ import annotations

import attrs

from homeserver.config.fields import option, positive
from homeserver.util.structure import ByteSize, Duration


@attrs.frozen(kw_only=True)
class MediaUploadLimit:
    """At most ``max_size`` bytes uploaded by one user within ``time_period``
    (Synapse's ``media_upload_limits`` entries)."""

    time_period: Duration = option(
        doc="The window counted back from now, e.g. 1d.",
        example="1d",
        validator=positive,
    )
    max_size: ByteSize = option(
        doc="Bytes one user may upload within time_period.",
        example="100M",
        validator=positive,
    )


@attrs.frozen(kw_only=True)
class MediaRetentionConfig:
    """How long unused media is kept (Synapse's ``media_retention``). The
    retention job runs every hour; unset lifetimes keep media forever."""

    local_media_lifetime: Duration | None = option(
        None,
        doc="Delete media uploaded here that nobody downloaded (or thumbnailed) "
        "for this long, e.g. 90d; never-downloaded media counts from its upload. "
        "Quarantined media and users' profile avatars are kept. Off when unset.",
        example="90d",
        validator=positive,
    )
    remote_media_lifetime: Duration | None = option(
        None,
        doc="Delete cached copies of other servers' media not used for this long, "
        "e.g. 14d (they are fetched again when asked for). Off when unset.",
        example="14d",
        validator=positive,
    )
