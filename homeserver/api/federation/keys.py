"""Server keys: our own, and other servers' as a notary.

Spec: server-server-api.md "Publishing Keys" (GET /_matrix/key/v2/server) and
"Querying Keys Through Another Server" (GET and POST /_matrix/key/v2/query,
and the deprecated GET /_matrix/key/v2/query/{serverName}/{keyId}).
"""

from __future__ import annotations

from homeserver.api.federation.bodies import KeyQueryBody
from homeserver.api.http.request import ApiRequest
from homeserver.federation.keys.local_keys import LocalKeys
from homeserver.federation.keys.notary import Notary
from homeserver.types import JsonDict


class ServerKeysEndpoint:
    """GET /_matrix/key/v2/server (and the deprecated ``/{keyId}`` form)."""

    PATTERNS = ["/_matrix/key/v2/server", "/_matrix/key/v2/server/{key_id}"]

    def __init__(self, local_keys: LocalKeys) -> None:
        self.local_keys = local_keys

    async def on_GET(self, request: ApiRequest, key_id: str | None = None) -> JsonDict:
        return self.local_keys.key_response()


class KeyQueryEndpoint:
    """GET /_matrix/key/v2/query/{serverName}: one server's keys; and the
    deprecated ``/{keyId}`` form (still in the spec), for that key."""

    PATTERNS = [
        "/_matrix/key/v2/query/{server_name}",
        "/_matrix/key/v2/query/{server_name}/{key_id}",
    ]

    def __init__(self, notary: Notary) -> None:
        self.notary = notary

    async def on_GET(
        self, request: ApiRequest, server_name: str, key_id: str | None = None
    ) -> JsonDict:
        minimum = request.query_int("minimum_valid_until_ts")
        key_ids = [key_id] if key_id else []
        responses = await self.notary.query_server(server_name, key_ids, minimum)
        return {"server_keys": responses}


class BatchKeyQueryEndpoint:
    """POST /_matrix/key/v2/query: several servers' keys."""

    PATTERNS = ["/_matrix/key/v2/query"]

    def __init__(self, notary: Notary) -> None:
        self.notary = notary

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        body = request.parse(KeyQueryBody)
        return {"server_keys": await self.notary.query(body.criteria())}
