"""Config sections: the room directory, the user directory, presence and the
WebSocket transport."""

from __future__ import annotations

import attrs

from homeserver.config.fields import option, positive
from homeserver.util.structure import ByteSize, Duration, check


@attrs.frozen(kw_only=True)
class RoomDirectoryConfig:
    """Room aliases and the published room directory."""

    allow_public_rooms_without_auth: bool = option(
        False,
        doc="Let clients without an access token list this server's published rooms "
        "(GET /publicRooms). Off by default, as in Synapse.",
    )
    require_membership_for_aliases: bool = option(
        True,
        doc="Only users joined to a room (and server admins) may create aliases "
        "for it, as in Synapse.",
    )


@attrs.frozen(kw_only=True)
class UserDirectoryConfig:
    """Searching for users (POST /user_directory/search)."""

    enabled: bool = option(
        True,
        doc="Answer user directory searches. When off, every search answers no "
        "results (as Synapse's user_directory.enabled: false).",
    )
    search_all_users: bool = option(
        False,
        doc="Let a search find every local user. When off (the default, as in "
        "Synapse), a search finds only users who share a room with the "
        "searcher or are in a public room (join rule public or history "
        "world_readable), on any server.",
    )
    prefer_local_users: bool = option(
        False,
        doc="Rank this server's users above other servers' users in results.",
    )


@attrs.frozen(kw_only=True)
class PresenceConfig:
    """User presence: online, unavailable (idle) or offline."""

    enabled: bool = option(
        True,
        doc="Track presence and share it with users who share a room. When off, "
        "PUT /presence is accepted and ignored, GET /presence answers offline and "
        "/sync carries no presence.",
    )
    idle_timeout: Duration = option(
        Duration(300_000),
        doc="An online user who does nothing (send, set presence) for this long "
        "becomes unavailable.",
        example="5m",
        validator=positive,
    )
    sync_online_timeout: Duration = option(
        Duration(30_000),
        doc="A user with no /sync in progress becomes offline this long after "
        "their last /sync ended or they last did something.",
        example="30s",
        validator=positive,
    )


@attrs.frozen(kw_only=True)
class WebSocketConfig:
    """The WebSocket client transport (docs/websocket.md)."""

    enabled: bool = option(
        True,
        doc="Serve the WebSocket transport on every listener with the client "
        "resource: sync pushed as it happens, and client API requests over the "
        "same socket.",
    )
    path: str = option(
        "/_chatly/client/v1/ws",
        doc="The path WebSocket upgrades are accepted at. A plain GET there is "
        "answered 426 M_UNRECOGNIZED.",
    )
    max_pending_bytes: ByteSize = option(
        ByteSize(8 * 1024 * 1024),
        doc="Slow readers: a socket is closed (4008 'slow reader') when this much "
        "more is queued for it after its send buffer is already full.",
        example="8M",
        validator=positive,
    )
    max_pending_time: Duration = option(
        Duration(60_000),
        doc="Slow readers: a socket is closed (4008 'slow reader') when a sync "
        "response sent to it is still not acknowledged by a WebSocket pong this "
        "long after it was sent.",
        example="60s",
        validator=positive,
    )
    ping_interval: Duration = option(
        Duration(30_000),
        doc="Keepalive: send a WebSocket ping after this long without one.",
        example="30s",
        validator=positive,
    )
    ping_timeout: Duration = option(
        Duration(10_000),
        doc="Keepalive: drop the connection when a ping is not answered in time.",
        example="10s",
        validator=positive,
    )
    auth_timeout: Duration = option(
        Duration(30_000),
        doc="A socket that has not authenticated this long after opening is closed "
        "(4001).",
        example="30s",
        validator=positive,
    )
    max_concurrent_requests: int = option(
        16,
        doc="Requests one socket may have in progress at once; more are answered "
        "429 M_LIMIT_EXCEEDED.",
        validator=positive,
    )

    def __attrs_post_init__(self) -> None:
        check(self.path.startswith("/"), "path", "must start with /")
        check(
            not self.path.startswith("/_matrix/"),
            "path",
            "must not be under /_matrix/, which the Matrix spec owns",
        )
