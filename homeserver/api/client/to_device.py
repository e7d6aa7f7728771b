"""Send-to-device messaging.

Spec: client-server API, "Send-to-Device messaging".
"""

from __future__ import annotations

from homeserver.api.client.bodies.sync_data import SendToDeviceBody
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.sync_data.to_device import ToDeviceService
from homeserver.types import JsonDict


class SendToDeviceEndpoint:
    """PUT /sendToDevice/{eventType}/{txnId}."""

    PATTERNS = client_patterns("/sendToDevice/{event_type}/{txn_id}")

    def __init__(self, auth: Auth, to_device: ToDeviceService) -> None:
        self.auth = auth
        self.to_device = to_device

    async def on_PUT(
        self, request: ApiRequest, event_type: str, txn_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        body = request.parse(SendToDeviceBody)
        return await self.to_device.send_to_device(
            requester, event_type, txn_id, body.messages
        )
