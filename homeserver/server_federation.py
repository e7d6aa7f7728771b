"""The federation part of the composition root.

Built by ``HomeServer`` after the room and sync services; each section wires
one federation component from the server's stores and services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeserver.api.federation.keys import ServerKeysEndpoint
from homeserver.federation.acl import ServerAclChecker
from homeserver.federation.edu import EduRegistry
from homeserver.federation.interfaces import FederationTransport, KeyRing
from homeserver.federation.placeholders import RefusingKeyRing, UnreachableTransport
from homeserver.services.federation_events import FederationEventService
from homeserver.services.federation_fetch import RemoteEventFetcher
from homeserver.services.federation_verify import EventVerifier
from homeserver.storage.stores.federation import FederationStore

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
        hs = self.hs
        # The transport section provides these; the placeholders keep this
        # section usable (and testable) on its own.
        keyring: KeyRing = getattr(self, "keyring", None) or RefusingKeyRing()
        transport: FederationTransport = (
            getattr(self, "transport", None) or UnreachableTransport()
        )
        self.federation_store = FederationStore(hs.db)
        self.acl = ServerAclChecker(hs.room_state, hs.events)
        verifier = EventVerifier(keyring)
        self.event_fetcher = RemoteEventFetcher(transport, verifier)
        self.receiving = FederationEventService(
            hs.events,
            hs.room_state,
            hs.state_store,
            self.federation_store,
            hs.state_resolver,
            hs.persister,
            verifier,
            self.event_fetcher,
            hs.event_creation.linearizer,
            hs.event_creation.listeners,
        )

    # -- outbound transaction queues and EDUs --------------------------------
    def _build_sending(self) -> None:
        pass

    # -- joins, leaves, invites, knocks, queries -----------------------------
    def _build_handshakes(self) -> None:
        pass

    async def start(self) -> None:
        """Start background work (after the database is ready)."""
        await self.hs.persister.backfill_ids.load(
            self.hs.db, "events", "stream_ordering"
        )

    def stop(self) -> None:
        """Stop background work."""

    def endpoints(self) -> list[Any]:
        """Every /_matrix/federation and /_matrix/key endpoint."""
        hs = self.hs
        return [ServerKeysEndpoint(self.server_name, hs.signing_key, hs.clock)]
