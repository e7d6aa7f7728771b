"""This server's published signing keys.

Spec: server-server-api.md "Publishing Keys" (GET /_matrix/key/v2/server).
"""

from __future__ import annotations

from signedjson.key import SigningKey, encode_verify_key_base64, get_verify_key

from homeserver.api.http.request import ApiRequest
from homeserver.events.signing import key_id_of, sign_json
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

# How long other servers may cache our key response.
KEY_VALIDITY_MS = 24 * 60 * 60 * 1000


class ServerKeysEndpoint:
    """GET /_matrix/key/v2/server (and the deprecated ``/{keyId}`` form)."""

    PATTERNS = ["/_matrix/key/v2/server", "/_matrix/key/v2/server/{key_id}"]

    def __init__(self, server_name: str, signing_key: SigningKey, clock: Clock) -> None:
        self.server_name = server_name
        self.signing_key = signing_key
        self.clock = clock

    async def on_GET(self, request: ApiRequest, key_id: str | None = None) -> JsonDict:
        verify_key = get_verify_key(self.signing_key)
        body: JsonDict = {
            "server_name": self.server_name,
            "valid_until_ts": self.clock.time_msec() + KEY_VALIDITY_MS,
            "verify_keys": {
                key_id_of(self.signing_key): {
                    "key": encode_verify_key_base64(verify_key)
                }
            },
            "old_verify_keys": {},
        }
        return sign_json(body, self.server_name, self.signing_key)
