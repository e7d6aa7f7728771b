"""Simplified sliding sync (MSC4186): POST
/_matrix/client/unstable/org.matrix.simplified_msc3575/sync and
/_matrix/client/v4/sync. docs/sliding-sync.md."""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.services.accounts.auth import Auth
from homeserver.services.sliding_sync.request import parse_request
from homeserver.services.sliding_sync.service import SlidingSyncService
from homeserver.types import JsonDict


class SlidingSyncEndpoint:
    """POST the sliding-sync request body; ``pos``, ``timeout`` and
    ``set_presence`` may also be query parameters (as Synapse takes them)."""

    PATTERNS = [
        "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync",
        "/_matrix/client/v4/sync",
    ]

    def __init__(self, auth: Auth, sliding: SlidingSyncService) -> None:
        self.auth = auth
        self.sliding = sliding

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        req = parse_request(
            request.json(allow_empty=True),
            query_pos=request.query_str("pos"),
            query_timeout=request.query_int("timeout"),
            query_presence=request.query_str("set_presence"),
        )
        return await self.sliding.sync(requester, req)
