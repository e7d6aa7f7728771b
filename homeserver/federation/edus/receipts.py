"""m.receipt EDUs (server-server API, "Receipts"): public read receipts only;
``m.read.private`` never leaves the server."""

from __future__ import annotations

import logging
from typing import Any

from homeserver.events.ids import has_domain
from homeserver.federation.sender.sender import FederationSender
from homeserver.services.rooms.room_permissions import RoomPermissions
from homeserver.services.sync_data.receipts import ReceiptService, ReceiptTypes
from homeserver.signals import ReceiptStored
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.receipts import Receipt
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background

logger = logging.getLogger(__name__)

EDU_TYPE = "m.receipt"


class ReceiptEdus:
    """Forwards local users' m.read receipts; stores remote users' receipts.

    Args:
        server_name: this server.
        sender: the federation sender.
        receipts: the receipt service.
        permissions: to check a remote user is joined.
        events: to find the receipted events.
    """

    def __init__(
        self,
        *,
        server_name: str,
        sender: FederationSender,
        receipts: ReceiptService,
        permissions: RoomPermissions,
        events: EventStore,
    ) -> None:
        self.server_name = server_name
        self.sender = sender
        self.receipts = receipts
        self.permissions = permissions
        self.events = events

    def on_receipt(self, stored: ReceiptStored) -> None:
        """``receipt_stored`` receiver: forward a local user's public receipt."""
        receipt = stored.receipt
        if (
            receipt.receipt_type != ReceiptTypes.READ
            or not has_domain(receipt.user_id, self.server_name)
            or not self.sender.enabled
        ):
            return
        run_in_background("federation_receipt", self._send(receipt))

    async def _send(self, receipt: Receipt) -> None:
        servers = await self.sender.servers_in_rooms([receipt.room_id])
        data: JsonDict = {"ts": receipt.ts}
        if receipt.thread_id is not None:
            data["thread_id"] = receipt.thread_id
        content = {
            receipt.room_id: {
                ReceiptTypes.READ: {
                    receipt.user_id: {"event_ids": [receipt.event_id], "data": data}
                }
            }
        }
        self.sender.send_edu(servers, EDU_TYPE, content)

    async def handle(self, origin: str, content: JsonDict) -> None:
        """An inbound m.receipt EDU: room -> type -> user -> {event_ids, data}."""
        for room_id, by_type in content.items():
            if not isinstance(by_type, dict):
                continue
            by_user = by_type.get(ReceiptTypes.READ)
            if not isinstance(by_user, dict):
                continue
            for user_id, receipt in by_user.items():
                await self._one(origin, room_id, user_id, receipt)

    async def _one(self, origin: str, room_id: str, user_id: str, receipt: Any) -> None:
        if not has_domain(user_id, origin):
            logger.warning("%s sent a receipt for %s: ignored", origin, user_id)
            return
        if not isinstance(receipt, dict) or not isinstance(
            receipt.get("event_ids"), list
        ):
            return
        data = receipt.get("data")
        data = data if isinstance(data, dict) else {}
        ts = data.get("ts")
        thread_id = data.get("thread_id")
        if not await self.permissions.is_joined(room_id, user_id):
            logger.info("receipt from %s: %s is not in %s", origin, user_id, room_id)
            return
        for event_id in receipt["event_ids"][:10]:
            event = (
                await self.events.get_event(event_id)
                if isinstance(event_id, str)
                else None
            )
            if (
                event is None
                or event.room_id != room_id
                or event.stream_ordering is None
            ):
                logger.debug("receipt from %s for unknown event %s", origin, event_id)
                continue
            await self.receipts.apply_remote_receipt(
                user_id,
                ReceiptTypes.READ,
                event,
                thread_id if isinstance(thread_id, str) and thread_id else None,
                ts if isinstance(ts, int) and not isinstance(ts, bool) else 0,
            )
