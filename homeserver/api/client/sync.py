"""GET /sync.

Spec: client-server API, "Syncing".
"""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.errors import InvalidParam
from homeserver.services.accounts.auth import Auth
from homeserver.services.sync.sync import SyncParams, SyncService
from homeserver.streams.tokens import StreamToken
from homeserver.types import JsonDict

PRESENCE_VALUES = ("online", "offline", "unavailable")


def parse_sync_params(request: ApiRequest) -> SyncParams:
    """The /sync query parameters (shared with the WebSocket transport)."""
    since = request.query_str("since")
    set_presence = request.query_str("set_presence")
    if set_presence is not None and set_presence not in PRESENCE_VALUES:
        raise InvalidParam("set_presence must be online, offline or unavailable")
    return SyncParams(
        since=StreamToken.parse(since) if since else None,
        timeout_ms=request.query_int("timeout", 0) or 0,
        full_state=request.query_bool("full_state", False),
        filter_param=request.query_str("filter"),
        set_presence=set_presence,
    )


class SyncEndpoint:
    """GET /sync."""

    PATTERNS = client_patterns("/sync")

    def __init__(self, auth: Auth, sync: SyncService) -> None:
        self.auth = auth
        self.sync = sync

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        return await self.sync.sync(requester, parse_sync_params(request))
