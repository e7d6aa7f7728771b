"""Discovery: /versions, /.well-known/matrix/client and /capabilities.

Spec: client-server API, "Server Discovery", "Capabilities negotiation".
"""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.config.model import ROOM_VERSIONS, HomeserverConfig
from homeserver.errors import NotFound
from homeserver.services.accounts.auth import Auth
from homeserver.types import JsonDict

SUPPORTED_VERSIONS = [
    "r0.0.1",
    "r0.1.0",
    "r0.2.0",
    "r0.3.0",
    "r0.4.0",
    "r0.5.0",
    "r0.6.0",
    "r0.6.1",
    "v1.1",
    "v1.2",
    "v1.3",
    "v1.4",
    "v1.5",
    "v1.6",
    "v1.7",
    "v1.8",
    "v1.9",
    "v1.10",
    "v1.11",
    "v1.12",
]
# Unstable features clients look for before calling an endpoint.
UNSTABLE_FEATURES = {
    # Mutual rooms (MSC2666): Element's and matrix-js-sdk's check for
    # /_matrix/client/unstable/uk.half-shot.msc2666/user/mutual_rooms.
    "uk.half-shot.msc2666.query_mutual_rooms": True,
    # Chatly's delete for me (docs/extensions/delete-for-me.md).
    "chatly.delete_for_me": True,
    # Simplified sliding sync (MSC4186), as Synapse advertises it
    # (docs/sliding-sync.md).
    "org.matrix.simplified_msc3575": True,
}


class VersionsEndpoint:
    """GET /_matrix/client/versions."""

    PATTERNS = ["/_matrix/client/versions"]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        return {
            "versions": SUPPORTED_VERSIONS,
            "unstable_features": dict(UNSTABLE_FEATURES),
        }


class WellKnownClientEndpoint:
    """GET /.well-known/matrix/client, when a base URL is configured."""

    PATTERNS = ["/.well-known/matrix/client"]

    def __init__(self, config: HomeserverConfig) -> None:
        self.config = config.well_known

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        if not self.config.client_base_url:
            raise NotFound(".well-known not available")
        body: JsonDict = {"m.homeserver": {"base_url": self.config.client_base_url}}
        if self.config.identity_server:
            body["m.identity_server"] = {"base_url": self.config.identity_server}
        return body


class CapabilitiesEndpoint:
    """GET /capabilities."""

    PATTERNS = client_patterns("/capabilities")

    def __init__(self, config: HomeserverConfig, auth: Auth) -> None:
        self.config = config
        self.auth = auth

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await requester_of(self.auth, request, allow_guest=True)
        return {
            "capabilities": {
                "m.change_password": {"enabled": True},
                "m.room_versions": {
                    "default": self.config.server.default_room_version,
                    "available": {v: "stable" for v in ROOM_VERSIONS},
                },
                "m.set_displayname": {"enabled": True},
                "m.set_avatar_url": {"enabled": True},
                # Users add and remove email addresses themselves when the
                # server verifies them (docs/admin-guide.md).
                "m.3pid_changes": {
                    "enabled": self.config.email.enable_threepid_validation
                },
                "m.get_login_token": {"enabled": self.config.auth.token_login.enabled},
                "m.profile_fields": {"enabled": True},
            }
        }
