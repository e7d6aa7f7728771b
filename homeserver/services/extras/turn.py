"""TURN server credentials for VoIP calls.

Spec: client-server API, "Voice over IP" (GET /voip/turnServer). With a
shared secret the credentials follow coturn's ``use-auth-secret`` scheme (the
"TURN REST API" draft): username ``<expiry seconds>:<user_id>``, password
base64(HMAC-SHA1(secret, username)), so the TURN server checks them without
asking us.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from homeserver.config.model import VoipConfig
from homeserver.errors import Codes, Forbidden
from homeserver.services.accounts.auth import Requester
from homeserver.types import JsonDict
from homeserver.util.clock import Clock


def shared_secret_credentials(
    secret: str, user_id: str, expiry_seconds: int
) -> tuple[str, str]:
    """The coturn ``use-auth-secret`` username and password for ``user_id``."""
    username = f"{expiry_seconds}:{user_id}"
    mac = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1)
    return username, base64.b64encode(mac.digest()).decode("ascii")


class TurnService:
    """Hands out TURN credentials as the config says."""

    def __init__(self, config: VoipConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock

    def credentials(self, requester: Requester) -> JsonDict:
        """The TURN server and credentials for ``requester``; ``{}`` when none
        are configured.

        Raises:
            Forbidden: 403 M_GUEST_ACCESS_FORBIDDEN for a guest when
                ``turn_allow_guests`` is off.
        """
        config = self.config
        if requester.is_guest and not config.turn_allow_guests:
            raise Forbidden("Guest access not allowed", Codes.GUEST_ACCESS_FORBIDDEN)
        lifetime_ms = int(config.turn_user_lifetime)
        if not config.turn_uris:
            return {}
        if config.turn_shared_secret:
            expiry = (self.clock.time_msec() + lifetime_ms) // 1000
            username, password = shared_secret_credentials(
                config.turn_shared_secret, requester.user_id, expiry
            )
        elif config.turn_username is not None and config.turn_password is not None:
            username, password = config.turn_username, config.turn_password
        else:
            return {}
        return {
            "username": username,
            "password": password,
            "ttl": lifetime_ms // 1000,
            "uris": list(config.turn_uris),
        }
