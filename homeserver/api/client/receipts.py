"""Receipts and read markers.

Spec: client-server API, "Receipts" and "Read and unread markers".
"""

from __future__ import annotations

from homeserver.api.client.bodies.sync_data import ReadMarkersBody, ReceiptBody
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.sync_data.receipts import ReceiptService
from homeserver.types import JsonDict


class ReceiptEndpoint:
    """POST /rooms/{roomId}/receipt/{receiptType}/{eventId}."""

    PATTERNS = client_patterns("/rooms/{room_id}/receipt/{receipt_type}/{event_id}")

    def __init__(self, auth: Auth, receipts: ReceiptService) -> None:
        self.auth = auth
        self.receipts = receipts

    async def on_POST(
        self, request: ApiRequest, room_id: str, receipt_type: str, event_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        # The body is required by the spec, but clients from before threaded
        # receipts send none.
        body = request.parse(ReceiptBody, allow_empty=True)
        return await self.receipts.send_receipt(
            requester, room_id, receipt_type, event_id, body.thread_id
        )


class ReadMarkersEndpoint:
    """POST /rooms/{roomId}/read_markers."""

    PATTERNS = client_patterns("/rooms/{room_id}/read_markers")

    def __init__(self, auth: Auth, receipts: ReceiptService) -> None:
        self.auth = auth
        self.receipts = receipts

    async def on_POST(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(ReadMarkersBody)
        return await self.receipts.set_read_markers(requester, room_id, body.markers())
