"""The federation part of the composition root.

Built by ``HomeServer`` after the room and sync services; each section wires
one federation component from the server's stores and services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeserver.api.federation.keys import ServerKeysEndpoint
from homeserver.federation.edu import EduRegistry
from homeserver.federation.edus import device_lists as device_list_edus
from homeserver.federation.edus import presence as presence_edus
from homeserver.federation.edus import receipts as receipt_edus
from homeserver.federation.edus import to_device as to_device_edus
from homeserver.federation.edus import typing as typing_edus
from homeserver.federation.sender.sender import FederationSender
from homeserver.federation.sender.unavailable import UnavailableTransport
from homeserver.storage.stores.device_lists import DeviceListStore
from homeserver.storage.stores.federation_outbox import FederationOutboxStore

if TYPE_CHECKING:
    from homeserver.server import HomeServer


class FederationServices:
    """Every federation component of one server."""

    def __init__(self, hs: HomeServer) -> None:
        self.hs = hs
        self.config = hs.config.federation
        self.server_name = hs.config.server.server_name
        self.edus = EduRegistry()
        self._build_transport()
        self._build_receiving()
        self._build_sending()
        self._build_handshakes()

    # -- keys, outbound client, inbound request authentication ---------------
    def _build_transport(self) -> None:
        pass

    # -- inbound transactions and the remote event pipeline ------------------
    def _build_receiving(self) -> None:
        pass

    # -- outbound transaction queues and EDUs --------------------------------
    def _build_sending(self) -> None:
        hs = self.hs
        transport: Any = getattr(self, "transport", None) or UnavailableTransport()
        self.outbox = FederationOutboxStore(hs.db)
        self.sender = FederationSender(
            self.server_name,
            self.config.enabled,
            transport,
            self.outbox,
            hs.events,
            hs.event_state,
            hs.clock,
            hs.stream_ids.current_position,
            int(self.config.max_retry_interval),
            int(self.config.request_timeout),
        )
        hs.persister.on_persisted.append(self.sender.on_persisted)
        self._build_edus()

    def _build_edus(self) -> None:
        """Outbound hooks on the sync-data services and inbound EDU handlers."""
        hs = self.hs
        data = hs.sync_data
        edus: list[tuple[str, Any]] = [
            (
                typing_edus.EDU_TYPE,
                typing_edus.TypingEdus(
                    self.server_name, self.sender, data.typing, hs.room_permissions
                ),
            ),
            (
                receipt_edus.EDU_TYPE,
                receipt_edus.ReceiptEdus(
                    self.server_name,
                    self.sender,
                    data.receipts,
                    hs.room_permissions,
                    hs.events,
                ),
            ),
            (
                presence_edus.EDU_TYPE,
                presence_edus.PresenceEdus(
                    self.server_name, self.sender, hs.presence, hs.clock
                ),
            ),
            (
                to_device_edus.EDU_TYPE,
                to_device_edus.ToDeviceEdus(self.sender, data.to_device),
            ),
        ]
        self.device_list_store = DeviceListStore(hs.db)
        self.device_lists = device_list_edus.DeviceListEdus(
            self.server_name,
            self.sender,
            self.device_list_store,
            hs.device_store,
            hs.presence_store,
            hs.notifier,
        )
        hs.sync_sources.device_lists = self.device_lists
        edus.append((device_list_edus.EDU_TYPE, self.device_lists))
        for edu_type, handler in edus:
            self.edus.register(edu_type, handler.handle)

    # -- joins, leaves, invites, knocks, queries -----------------------------
    def _build_handshakes(self) -> None:
        pass

    async def start(self) -> None:
        """Start background work (after the database is ready)."""
        await self.device_list_store.load()
        await self.sender.start()

    def stop(self) -> None:
        """Stop background work."""
        self.sender.stop()

    def endpoints(self) -> list[Any]:
        """Every /_matrix/federation and /_matrix/key endpoint."""
        hs = self.hs
        return [ServerKeysEndpoint(self.server_name, hs.signing_key, hs.clock)]
