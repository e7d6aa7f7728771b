"""``GET /pushers`` and ``POST /pushers/set``.

Spec: client-server API v1.19, "Push Notifications", "Pushers"
(data/api/client-server/pusher.yaml). Served under r0 too, where they were.
"""

from __future__ import annotations

from typing import Any

from homeserver.api.client.bodies.pushers import PusherSetBody
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.push.pushers.service import PusherService
from homeserver.types import JsonDict


class PushersEndpoint:
    """GET /pushers: the requester's pushers."""

    PATTERNS = client_patterns("/pushers")

    def __init__(self, auth: Auth, pushers: PusherService) -> None:
        self.auth = auth
        self.pushers = pushers

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return {"pushers": await self.pushers.get_pushers(requester.user_id)}


class PushersSetEndpoint:
    """POST /pushers/set: add, replace or (``kind: null``) delete a pusher."""

    PATTERNS = client_patterns("/pushers/set")

    def __init__(self, auth: Auth, pushers: PusherService) -> None:
        self.auth = auth
        self.pushers = pushers

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(PusherSetBody).to_request()
        await self.pushers.set_pusher(
            requester.user_id, requester.device_id or None, body
        )
        return {}


def pusher_endpoints(auth: Auth, pushers: PusherService) -> list[Any]:
    """The endpoints of the pushers API."""
    return [PushersEndpoint(auth, pushers), PushersSetEndpoint(auth, pushers)]
