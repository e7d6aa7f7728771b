"""Internal: store to-device messages on the to-device stream's writer.

``POST /_chatly/replication/to_device``, called by
``workers.remote_writes.RemoteToDevice`` after the receiving process checked
the request (bounds, rate limit, recipients' devices) and built the messages.
Once per (sender device, transaction): a retry answers ``added: false``.
"""

from __future__ import annotations

from homeserver.api.http.body import Int, JsonObject, RequestBody, Str
from homeserver.api.replication.resource import InternalPost
from homeserver.services.sync_data.stream_writers import ToDeviceBatch
from homeserver.services.sync_data.to_device import ToDeviceService
from homeserver.storage.stores.device_inbox import OutgoingMessage
from homeserver.types import JsonDict


class MessageFields(RequestBody):
    """An ``OutgoingMessage`` as ``attrs.asdict`` gives it."""

    user_id: Str
    device_id: Str
    message: JsonObject


class ToDeviceWriteBody(RequestBody):
    """One send's messages."""

    sender: Str
    sender_device_id: Str
    txn_id: Str
    messages: list[MessageFields]
    now_ms: Int


class ToDeviceWriteEndpoint(InternalPost[ToDeviceService, ToDeviceWriteBody]):
    """POST /_chatly/replication/to_device."""

    ENDPOINT = "to_device"
    BODY = ToDeviceWriteBody

    async def handle(self, body: ToDeviceWriteBody) -> JsonDict:
        messages = [
            OutgoingMessage(m.user_id, m.device_id, m.message) for m in body.messages
        ]
        added = await self.target.store_messages_here(
            ToDeviceBatch(
                body.sender, body.sender_device_id, body.txn_id, messages, body.now_ms
            )
        )
        return {"added": added}
