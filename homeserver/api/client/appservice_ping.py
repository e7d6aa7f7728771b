"""``POST /_matrix/client/v1/appservice/{appserviceId}/ping``.

Spec: client-server API v1.19, "Application service ping"
(data/api/client-server/appservice_ping.yaml). Only the AS's own ``as_token``
may call it (any other valid token: 403 M_FORBIDDEN, as Synapse).
"""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.errors import InvalidParam
from homeserver.services.accounts.auth import Auth
from homeserver.services.appservices.outbound.ping import PingService
from homeserver.types import JsonDict


class AppServicePingEndpoint:
    """POST /appservice/{appserviceId}/ping."""

    PATTERNS = client_patterns(
        "/appservice/{appservice_id}/ping", r0=False, v3=False, v1=True
    )

    def __init__(self, auth: Auth, ping: PingService) -> None:
        self.auth = auth
        self.ping = ping

    async def on_POST(self, request: ApiRequest, appservice_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.json(allow_empty=True)
        txn_id = body.get("transaction_id")
        if txn_id is not None and not isinstance(txn_id, str):
            raise InvalidParam("transaction_id must be a string")
        return await self.ping.ping(requester, appservice_id, txn_id)
