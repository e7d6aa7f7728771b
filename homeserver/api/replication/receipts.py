"""Internal: store a receipt on the receipts stream's writer.

``POST /_chatly/replication/receipt``, called by
``workers.remote_writes.RemoteReceipts`` after the receiving process checked
the receipt (joined sender, event of the room, thread).
"""

from __future__ import annotations

from homeserver.api.http.body import Int, RequestBody, Str
from homeserver.api.replication.resource import InternalPost
from homeserver.services.sync_data.receipts import ReceiptService
from homeserver.storage.stores.receipts import Receipt
from homeserver.types import JsonDict


class ReceiptFields(RequestBody):
    """A receipt as ``attrs.asdict`` gives it."""

    room_id: Str
    receipt_type: Str
    user_id: Str
    thread_id: Str | None = None
    event_id: Str
    ts: Int


class ReceiptWriteBody(RequestBody):
    """The receipt and the stream ordering of its event."""

    receipt: ReceiptFields
    ordering: Int


class ReceiptWriteEndpoint(InternalPost[ReceiptService, ReceiptWriteBody]):
    """POST /_chatly/replication/receipt."""

    ENDPOINT = "receipt"
    BODY = ReceiptWriteBody

    async def handle(self, body: ReceiptWriteBody) -> JsonDict:
        fields = body.receipt
        await self.target.store_receipt(
            Receipt(
                fields.room_id,
                fields.receipt_type,
                fields.user_id,
                fields.thread_id,
                fields.event_id,
                fields.ts,
            ),
            body.ordering,
        )
        return {}
