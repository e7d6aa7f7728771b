"""Config sections: rate limits and send-to-device bounds."""

from __future__ import annotations

import attrs

from homeserver.config.fields import option, positive


@attrs.frozen(kw_only=True)
class RateLimit:
    """A token bucket: a steady rate and a burst."""

    per_second: float = option(
        doc="Requests per second allowed on average.", validator=positive
    )
    burst_count: int = option(
        doc="Requests allowed at once before limiting.", validator=positive
    )


@attrs.frozen(kw_only=True)
class RateLimitConfig:
    """Request rate limits; 429 M_LIMIT_EXCEEDED past them."""

    enabled: bool = option(True, doc="Turn all rate limiting on or off.")
    login_per_address: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.2, burst_count=5),
        doc="Login attempts per client IP address.",
    )
    login_per_account: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.1, burst_count=5),
        doc="Login attempts per account.",
    )
    login_failed_attempts: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.05, burst_count=3),
        doc="Failed login attempts per account.",
    )
    admin_failed_attempts: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.1, burst_count=5),
        doc="Refused admin API requests (no, a wrong or a non-admin access "
        "token) per client IP address; past it, every admin API request from "
        "that address is 429 until the bucket drains.",
    )
    registration_per_address: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.17, burst_count=3),
        doc="Registrations per client IP address.",
    )
    threepid_validation_per_address: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.003, burst_count=5),
        doc="Verification mails (requestToken) per email address, as Synapse's "
        "rc_3pid_validation.",
    )
    threepid_validation_per_ip: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.003, burst_count=5),
        doc="Verification mails (requestToken) per client IP address.",
    )
    message: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.2, burst_count=10),
        doc="Events a user sends into rooms (messages, state, redactions), per "
        "user (Synapse's rc_message). Server admins and application services "
        "registered with rate_limited: false are exempt from this and every "
        "other per-user limit below.",
    )
    joins_local: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.1, burst_count=10),
        doc="Joins of rooms this server is already in, per user (rc_joins.local).",
    )
    joins_remote: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.01, burst_count=10),
        doc="Joins through another server, per user (rc_joins.remote).",
    )
    invites_per_room: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.3, burst_count=10),
        doc="Invites sent into one room, by anyone (rc_invites.per_room).",
    )
    invites_per_user: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.003, burst_count=5),
        doc="Invites one user receives (rc_invites.per_user).",
    )
    invites_per_issuer: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.3, burst_count=10),
        doc="Invites one user sends (rc_invites.per_issuer).",
    )
    room_creation: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.016, burst_count=10),
        doc="Rooms one user creates (rc_room_creation).",
    )
    to_device: RateLimit = option(
        factory=lambda: RateLimit(per_second=20, burst_count=100),
        doc="sendToDevice requests per user (as Synapse's rc_key_requests).",
    )
    room_hierarchy: RateLimit = option(
        factory=lambda: RateLimit(per_second=5, burst_count=10),
        doc="Space hierarchy requests (GET /hierarchy) per user (Synapse's fixed "
        "room summary limit).",
    )
    reports: RateLimit = option(
        factory=lambda: RateLimit(per_second=1, burst_count=5),
        doc="Reports of events, rooms and users one user files (Synapse's rc_reports).",
    )
    media_create: RateLimit = option(
        factory=lambda: RateLimit(per_second=10, burst_count=50),
        doc="Media uploads (POST /upload) and media IDs made by POST /create, "
        "per user (Synapse's rc_media_create).",
    )
    new_destinations: RateLimit = option(
        factory=lambda: RateLimit(per_second=0.1, burst_count=50),
        doc="Servers this server has never sent to that one user's sendToDevice "
        "requests may make it contact, counted per server.",
    )


@attrs.frozen(kw_only=True)
class ToDeviceConfig:
    """Send-to-device messaging."""

    max_messages_per_request: int = option(
        1000,
        doc="Most (user, device) entries one sendToDevice request may address "
        "(a '*' entry counts once); more are answered 413 M_TOO_LARGE.",
        validator=positive,
    )
    max_servers_per_request: int = option(
        100,
        doc="Most other servers one sendToDevice request may address; more are "
        "answered 413 M_TOO_LARGE.",
        validator=positive,
    )
