"""The federation part of the composition root.

Built by ``HomeServer`` after the room and sync services; each section wires
one federation component from the server's stores and services.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeserver.api.admin.federation import destination_endpoints
from homeserver.api.federation.events import read_endpoints
from homeserver.api.federation.keys import (
    BatchKeyQueryEndpoint,
    KeyQueryEndpoint,
    ServerKeysEndpoint,
)
from homeserver.api.federation.membership import membership_endpoints
from homeserver.api.federation.query import query_endpoints
from homeserver.api.federation.send import FederationSendEndpoint
from homeserver.api.federation.user_devices import UserDevicesEndpoint
from homeserver.api.federation.version import FederationVersionEndpoint
from homeserver.events.model import Event, StateKey
from homeserver.federation.acl import ServerAclChecker
from homeserver.federation.edus import device_lists as device_list_edus
from homeserver.federation.edus import presence as presence_edus
from homeserver.federation.edus import receipts as receipt_edus
from homeserver.federation.edus import to_device as to_device_edus
from homeserver.federation.edus import typing as typing_edus
from homeserver.federation.edus.registry import EduRegistry
from homeserver.federation.handshakes.invites import (
    InviteReceiver,
    OutOfRoomMemberships,
)
from homeserver.federation.handshakes.remote import RemoteMembership
from homeserver.federation.handshakes.resident import ResidentMembership
from homeserver.federation.ingest.backfill import Backfiller
from homeserver.federation.ingest.events import FederationEventService
from homeserver.federation.ingest.fetch import RemoteEventFetcher
from homeserver.federation.ingest.transactions import FederationTransactionService
from homeserver.federation.ingest.verify import EventVerifier
from homeserver.federation.interfaces import FederationTransport
from homeserver.federation.keys.keyring import KeyRing
from homeserver.federation.keys.local_keys import LocalKeys
from homeserver.federation.keys.notary import Notary
from homeserver.federation.sender.admin import DestinationAdmin
from homeserver.federation.sender.sender import FederationSender
from homeserver.federation.serving.queries import FederationQueries, RemoteQueries
from homeserver.federation.serving.reads import FederationReadService
from homeserver.federation.transport.client import FederationClient
from homeserver.federation.transport.inbound_auth import FederationAuthenticator
from homeserver.services.rooms.room_events import StateCheck
from homeserver.storage.stores.device_lists import DeviceListStore
from homeserver.storage.stores.federation import FederationStore
from homeserver.storage.stores.federation_outbox import FederationOutboxStore
from homeserver.storage.stores.federation_stream import FederationStreamStore
from homeserver.storage.stores.remote_rooms import RemoteRoomStore
from homeserver.storage.stores.server_keys import ServerKeyStore

if TYPE_CHECKING:
    from homeserver.server import HomeServer
    from homeserver.services.accounts.auth import Auth


class FederationServices:
    """Every federation component of one server.

    Args:
        hs: the server being composed.
        transport: outbound requests go through this instead of the HTTPS
            client (tests: the in-process network of tests/federation/pair.py).
    """

    def __init__(
        self, hs: HomeServer, transport: FederationTransport | None = None
    ) -> None:
        self.hs = hs
        self.config = hs.config.federation
        self.server_name = hs.config.server.server_name
        self.edus = EduRegistry()
        self._build_transport(transport)
        self._build_receiving()
        self._build_sending()
        self._build_handshakes()

    # -- keys, outbound client, inbound request authentication ---------------
    def _build_transport(self, transport: FederationTransport | None) -> None:
        hs = self.hs
        self.local_keys = LocalKeys(
            self.server_name, hs.signing_key, self.config.old_signing_keys, hs.clock
        )
        self.transport: FederationTransport = transport or FederationClient(
            self.server_name, hs.signing_key, self.config, hs.reactor, hs.clock
        )
        self.server_keys = ServerKeyStore(hs.db)
        self.keyring = KeyRing(
            self.local_keys,
            self.transport,
            self.server_keys,
            hs.clock,
            self.config.trusted_key_servers,
            fetch_timeout_ms=int(self.config.key_fetch_timeout),
            refetch_interval_ms=int(self.config.key_refetch_interval),
        )
        self.notary = Notary(self.local_keys, self.keyring, self.server_keys)
        self.authenticator = FederationAuthenticator(
            self.server_name, self.config, self.keyring, hs.clock
        )

    # -- inbound transactions and the remote event pipeline ------------------
    def _build_receiving(self) -> None:
        hs = self.hs
        keyring, transport = self.keyring, self.transport
        self.federation_store = FederationStore(hs.db)
        self.acl = ServerAclChecker(hs.room_state, hs.events)
        verifier = EventVerifier(keyring)
        self.event_fetcher = RemoteEventFetcher(transport, verifier, hs.clock)
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
            hs.clock,
        )
        self.transactions = FederationTransactionService(
            self.receiving, self.edus, self.acl, self.federation_store, hs.clock
        )
        self.backfiller = Backfiller(
            self.server_name,
            self.federation_store,
            hs.events,
            self.receiving,
            self.event_fetcher,
            hs.clock,
        )
        hs.pagination.backfiller = self.backfiller
        self.reads = FederationReadService(
            self.server_name,
            hs.events,
            hs.room_state,
            hs.event_state,
            self.federation_store,
            self.acl,
            hs.clock,
        )

    # -- outbound transaction queues and EDUs --------------------------------
    def _build_sending(self) -> None:
        hs = self.hs
        transport = self.transport
        self.outbox = FederationOutboxStore(hs.db)
        self.sender = FederationSender(
            self.server_name,
            self.config.enabled,
            transport,
            self.outbox,
            FederationStreamStore(hs.db),
            hs.events,
            hs.event_state,
            hs.clock,
            hs.stream_ids.current_position,
            int(self.config.max_retry_interval),
            int(self.config.request_timeout),
        )
        whitelist = self.config.domain_whitelist
        if whitelist is not None:
            allowed = set(whitelist)
            self.sender.allowed = lambda destination: destination in allowed
        hs.persister.on_persisted.append(self.sender.on_persisted)
        self._build_edus()

    def _build_edus(self) -> None:
        """Outbound hooks on the sync-data services and inbound EDU handlers."""
        hs = self.hs
        data = hs.sync_data
        presence = presence_edus.PresenceEdus(
            self.server_name, self.sender, hs.presence, hs.clock
        )
        hs.event_creation.listeners.append(presence.on_new_event)
        self.presence_edus = presence
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
            (presence_edus.EDU_TYPE, presence),
            (
                to_device_edus.EDU_TYPE,
                to_device_edus.ToDeviceEdus(
                    self.sender,
                    data.to_device,
                    hs.ratelimiter,
                    hs.config.rate_limiting.new_destinations,
                ),
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
        hs = self.hs
        self.remote_rooms = RemoteRoomStore(hs.db)
        acl_check = self.acl.check
        self.out_of_room = OutOfRoomMemberships(
            self.server_name,
            hs.persister,
            hs.events,
            self.remote_rooms,
            lambda user_id, room_id: hs.notifier.notify(
                "events", users=[user_id], rooms=[room_id]
            ),
            hs.clock,
        )
        self.resident_membership = ResidentMembership(
            self.server_name,
            hs.signing_key,
            hs.event_creation,
            hs.membership,
            hs.state_resolver,
            hs.persister,
            hs.events,
            hs.room_state,
            self.remote_rooms,
            self.keyring,
            hs.clock,
            acl_check,
            self.sender.relay,
        )
        self.invites = InviteReceiver(
            self.server_name,
            hs.signing_key,
            hs.users,
            hs.room_state,
            self.remote_rooms,
            self.out_of_room,
            self.keyring,
            acl_check,
        )
        self.remote_membership = RemoteMembership(
            self.server_name,
            hs.signing_key,
            self.transport,
            self.keyring,
            self.out_of_room,
            self.receiving.process_remote_join,
            hs.clock,
        )
        self.queries = FederationQueries(
            self.server_name,
            hs.users,
            hs.profile_store,
            hs.directory_store,
            self.remote_rooms,
            hs.room_list,
        )
        self.remote_queries = RemoteQueries(self.transport)
        hs.membership.remote = self.remote_membership
        hs.room_events.state_check = _then(
            hs.room_events.state_check, hs.membership.federate_invite
        )
        self.receiving.out_of_room_pdu = self.out_of_room.on_pdu
        hs.directory.remote_query = self.remote_queries.directory
        hs.profiles.remote_query = self.remote_queries.profile
        hs.room_list.remote_query = self.remote_queries.public_rooms

    async def start(self) -> None:
        """Start background work (after the database is ready)."""
        await self.device_list_store.load()
        await self.sender.start()
        self.presence_edus.start()
        await self.hs.persister.backfill_ids.load(
            self.hs.db, "events", "stream_ordering"
        )
        # A server that sends us a transaction is up: retry our queue to it.
        self.transactions.on_origin_seen[:] = [self.sender.destination_is_alive]

    def stop(self) -> None:
        """Stop background work."""
        self.sender.stop()
        self.presence_edus.stop()

    def admin_endpoints(self, auth: Auth) -> list[Any]:
        """Admin API endpoints (served with the client API)."""
        return destination_endpoints(auth, DestinationAdmin(self.sender))

    def endpoints(self) -> list[Any]:
        """Every /_matrix/federation and /_matrix/key endpoint."""
        return [
            ServerKeysEndpoint(self.local_keys),
            KeyQueryEndpoint(self.notary),
            BatchKeyQueryEndpoint(self.notary),
            FederationVersionEndpoint(),
            FederationSendEndpoint(self.authenticator, self.transactions),
            *read_endpoints(self.authenticator, self.reads),
            *membership_endpoints(
                self.authenticator, self.resident_membership, self.invites
            ),
            *query_endpoints(self.authenticator, self.queries),
            UserDevicesEndpoint(
                self.server_name, self.authenticator, self.device_lists
            ),
        ]


def _then(first: StateCheck | None, second: StateCheck) -> StateCheck:
    """Both checks, in order."""

    async def both(event: Event, auth_events: Mapping[StateKey, Event]) -> None:
        if first is not None:
            await first(event, auth_events)
        await second(event, auth_events)

    return both
