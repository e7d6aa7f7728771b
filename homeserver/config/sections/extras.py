"""Config sections: VoIP (TURN servers) and server notices."""

from __future__ import annotations

import re

import attrs

from homeserver.config.fields import option, positive
from homeserver.util.structure import Duration, check


@attrs.frozen(kw_only=True)
class VoipConfig:
    """TURN servers handed to clients for calls (GET /voip/turnServer)."""

    turn_uris: list[str] = option(
        factory=list,
        doc="The TURN server URIs clients may use, e.g. "
        "'turn:turn.example.com:3478?transport=udp'. Empty: no TURN server, and "
        "GET /voip/turnServer answers {}.",
        example=["turn:turn.example.com:3478?transport=udp"],
    )
    turn_shared_secret: str | None = option(
        None,
        doc="The secret shared with the TURN server (coturn's 'use-auth-secret' "
        "and 'static-auth-secret'): each user gets a time-limited username "
        "'<expiry>:<user_id>' and the password base64(HMAC-SHA1(secret, "
        "username)). Takes precedence over turn_username/turn_password.",
        secret=True,
    )
    turn_username: str | None = option(
        None,
        doc="A fixed TURN username for everyone (with turn_password), when no "
        "turn_shared_secret is set.",
    )
    turn_password: str | None = option(
        None, doc="The password that goes with turn_username.", secret=True
    )
    turn_user_lifetime: Duration = option(
        Duration(3_600_000),
        doc="How long credentials made from turn_shared_secret stay valid.",
        example="1h",
        validator=positive,
    )
    turn_allow_guests: bool = option(
        True,
        doc="Whether guest users may get TURN credentials (as in Synapse).",
    )

    def __attrs_post_init__(self) -> None:
        check(
            (self.turn_username is None) == (self.turn_password is None),
            "turn_username",
            "turn_username and turn_password go together",
        )


@attrs.frozen(kw_only=True)
class ServerNoticesConfig:
    """Server notices: messages from the server to a user, in a room of
    their own (docs/client-extras.md)."""

    system_mxid_localpart: str | None = option(
        None,
        doc="The localpart of the user that sends server notices, e.g. "
        "'notices'. Unset: server notices are off, and the admin endpoint "
        "answers 400.",
        example="notices",
    )
    system_mxid_display_name: str | None = option(
        "Server Notices", doc="The display name of the notices user."
    )
    system_mxid_avatar_url: str | None = option(
        None, doc="The avatar (an mxc:// URI) of the notices user."
    )
    room_name: str = option(
        "Server Notices", doc="The name of each user's server notices room."
    )
    room_topic: str | None = option(
        None, doc="The topic of each user's server notices room."
    )
    room_avatar_url: str | None = option(
        None, doc="The avatar (an mxc:// URI) of each server notices room."
    )
    auto_join: bool = option(
        False,
        doc="Join the user to their notices room directly instead of inviting them.",
    )

    def __attrs_post_init__(self) -> None:
        localpart = self.system_mxid_localpart
        check(
            localpart is None or _LOCALPART.fullmatch(localpart) is not None,
            "system_mxid_localpart",
            "must be a user ID localpart: a-z, 0-9 and . _ = - / +",
        )


# The grammar of user ID localparts (spec, "User Identifiers").
_LOCALPART = re.compile(r"[a-z0-9._=\-/+]+")
