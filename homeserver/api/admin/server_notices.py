"""The Synapse-compatible server notices admin endpoint.

Synapse docs: admin_api/server_notices.md.
"""

from __future__ import annotations

from homeserver.api.admin.bodies import ServerNoticeBody
from homeserver.api.admin.endpoints import ADMIN_V1
from homeserver.api.http.auth import admin_of
from homeserver.api.http.request import ApiRequest
from homeserver.services.accounts.auth import Auth
from homeserver.services.extras.server_notices import ServerNoticesService
from homeserver.types import JsonDict


class _Endpoint:
    def __init__(self, auth: Auth, notices: ServerNoticesService) -> None:
        self.auth = auth
        self.notices = notices

    async def _send(self, request: ApiRequest, txn_id: str | None) -> JsonDict:
        requester = await admin_of(self.auth, request)
        body = request.parse(ServerNoticeBody)
        return await self.notices.send_notice_as_admin(
            requester, txn_id, body.user_id, body.content, body.type, body.state_key
        )


class SendServerNoticeEndpoint(_Endpoint):
    """POST /_synapse/admin/v1/send_server_notice."""

    PATTERNS = [f"{ADMIN_V1}/send_server_notice"]

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        return await self._send(request, None)


class SendServerNoticeTxnEndpoint(_Endpoint):
    """PUT /_synapse/admin/v1/send_server_notice/{txnId}: idempotent per
    access token and transaction ID."""

    PATTERNS = [f"{ADMIN_V1}/send_server_notice/{{txn_id}}"]

    async def on_PUT(self, request: ApiRequest, txn_id: str) -> JsonDict:
        return await self._send(request, txn_id)
