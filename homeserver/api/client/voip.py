"""TURN server credentials.

Spec: client-server API, "Voice over IP" (data/api/client-server/voip.yaml).
"""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.extras.turn import TurnService
from homeserver.types import JsonDict


class TurnServerEndpoint:
    """GET /voip/turnServer."""

    PATTERNS = client_patterns("/voip/turnServer")

    def __init__(self, auth: Auth, turn: TurnService) -> None:
        self.auth = auth
        self.turn = turn

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        return self.turn.credentials(requester)
