"""The parts of the federation wing, one bundle per subpackage of
``homeserver/federation`` (keys, ingest, serving, handshakes, edus); the
sender and transport are single objects. ``composition/federation.py`` builds
them in order."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.devices import DevicesBundle
from homeserver.composition.presence import PresenceBundle
from homeserver.composition.rooms import RoomsBundle
from homeserver.composition.spaces import SpacesBundle
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.federation.acl import ServerAclChecker
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
from homeserver.federation.sender.sender import FederationSender
from homeserver.federation.serving.hierarchy import (
    FederationHierarchy,
    RemoteHierarchyFetcher,
)
from homeserver.federation.serving.queries import FederationQueries, RemoteQueries
from homeserver.federation.serving.reads import FederationReadService
from homeserver.federation.transport.inbound_auth import FederationAuthenticator
from homeserver.services.rooms.event_creation import NewEventSignals
from homeserver.storage.stores.federation import FederationStore
from homeserver.storage.stores.remote_rooms import RemoteRoomStore
from homeserver.storage.stores.server_keys import ServerKeyStore


@attrs.frozen(kw_only=True)
class FederationKeys:
    """Our signing keys as published, other servers' keys, the notary, and
    the X-Matrix authentication of inbound requests that they check."""

    local: LocalKeys
    store: ServerKeyStore
    keyring: KeyRing
    notary: Notary
    authenticator: FederationAuthenticator

    @classmethod
    def build(cls, *, core: Core, transport: FederationTransport) -> FederationKeys:
        config = core.config.federation
        local = LocalKeys(
            core.server_name, core.signing_key, config.old_signing_keys, core.clock
        )
        store = ServerKeyStore(core.db)
        keyring = KeyRing(
            local=local,
            transport=transport,
            store=store,
            clock=core.clock,
            trusted_key_servers=config.trusted_key_servers,
            fetch_timeout_ms=int(config.key_fetch_timeout),
            refetch_interval_ms=int(config.key_refetch_interval),
        )
        return cls(
            local=local,
            store=store,
            keyring=keyring,
            notary=Notary(local, keyring, store),
            authenticator=FederationAuthenticator(
                core.server_name, config, keyring, core.clock
            ),
        )


@attrs.frozen(kw_only=True)
class FederationIngest:
    """Inbound transactions and the remote event pipeline, and backfill."""

    store: FederationStore
    acl: ServerAclChecker
    fetcher: RemoteEventFetcher
    events: FederationEventService
    transactions: FederationTransactionService
    backfiller: Backfiller

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        rooms: RoomsBundle,
        keys: FederationKeys,
        transport: FederationTransport,
        sender: FederationSender,
        out_of_room: OutOfRoomMemberships,
    ) -> FederationIngest:
        store = FederationStore(core.db)
        acl = ServerAclChecker(core.room_state, core.events)
        verifier = EventVerifier(keys.keyring)
        fetcher = RemoteEventFetcher(transport, verifier, core.clock)
        events = FederationEventService(
            events=core.events,
            room_state=core.room_state,
            state=core.state,
            store=store,
            resolver=rooms.state_resolver,
            persister=core.persister,
            verifier=verifier,
            fetcher=fetcher,
            room_lock=rooms.event_creation.linearizer,
            signals=NewEventSignals(
                new_event=core.signals.new_event,
                membership_changed=core.signals.membership_changed,
            ),
            out_of_room_pdu=out_of_room.on_pdu,
            clock=core.clock,
        )
        return cls(
            store=store,
            acl=acl,
            fetcher=fetcher,
            events=events,
            transactions=FederationTransactionService(
                events=events,
                edus=EduRegistry(),
                acl=acl,
                store=store,
                clock=core.clock,
                # A server that sends us a transaction is up: retry our queue.
                on_origin_seen=sender.destination_is_alive,
            ),
            backfiller=Backfiller(
                server_name=core.server_name,
                store=store,
                events=core.events,
                pipeline=events,
                fetcher=fetcher,
                clock=core.clock,
            ),
        )


@attrs.frozen(kw_only=True)
class FederationServing:
    """What we answer other servers (reads, queries) and ask them (queries)."""

    reads: FederationReadService
    queries: FederationQueries
    remote_queries: RemoteQueries
    hierarchy: FederationHierarchy
    remote_hierarchy: RemoteHierarchyFetcher

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        accounts: AccountsBundle,
        rooms: RoomsBundle,
        spaces: SpacesBundle,
        ingest: FederationIngest,
        remote_rooms: RemoteRoomStore,
        transport: FederationTransport,
    ) -> FederationServing:
        return cls(
            reads=FederationReadService(
                server_name=core.server_name,
                events=core.events,
                room_state=core.room_state,
                event_state=core.event_state,
                store=ingest.store,
                acl=ingest.acl,
                clock=core.clock,
                erased=accounts.stores.users.get_erased,
            ),
            queries=FederationQueries(
                server_name=core.server_name,
                users=accounts.stores.users,
                profiles=accounts.stores.profiles,
                aliases=rooms.directory_store,
                remote_rooms=remote_rooms,
                room_list=rooms.room_list,
            ),
            remote_queries=RemoteQueries(transport),
            hierarchy=FederationHierarchy(spaces.summaries),
            remote_hierarchy=RemoteHierarchyFetcher(transport, core.clock),
        )


@attrs.frozen(kw_only=True)
class FederationHandshakes:
    """Joins, leaves, knocks and invites, both ways."""

    remote_rooms: RemoteRoomStore
    out_of_room: OutOfRoomMemberships
    resident: ResidentMembership
    invites: InviteReceiver
    remote: RemoteMembership

    @staticmethod
    def out_of_room_memberships(core: Core) -> OutOfRoomMemberships:
        """The part the remote event pipeline needs before the rest."""
        return OutOfRoomMemberships(
            server_name=core.server_name,
            persister=core.persister,
            events=core.events,
            remote_rooms=RemoteRoomStore(core.db),
            membership_changed=core.signals.membership_changed,
            clock=core.clock,
        )

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        accounts: AccountsBundle,
        rooms: RoomsBundle,
        keys: FederationKeys,
        transport: FederationTransport,
        sender: FederationSender,
        ingest: FederationIngest,
        out_of_room: OutOfRoomMemberships,
    ) -> FederationHandshakes:
        name, key, clock = core.server_name, core.signing_key, core.clock
        remote_rooms = out_of_room.remote_rooms
        return cls(
            remote_rooms=remote_rooms,
            out_of_room=out_of_room,
            resident=ResidentMembership(
                server_name=name,
                signing_key=key,
                creator=rooms.event_creation,
                membership=rooms.membership,
                resolver=rooms.state_resolver,
                persister=core.persister,
                events=core.events,
                room_state=core.room_state,
                verifier=keys.keyring,
                clock=clock,
                acl_check=ingest.acl.check,
                relay=sender.relay,
            ),
            invites=InviteReceiver(
                server_name=name,
                signing_key=key,
                users=accounts.stores.users,
                room_state=core.room_state,
                remote_rooms=remote_rooms,
                out_of_room=out_of_room,
                verifier=keys.keyring,
                acl_check=ingest.acl.check,
                room_blocked=rooms.membership.is_blocked,
            ),
            remote=RemoteMembership(
                server_name=name,
                signing_key=key,
                transport=transport,
                signatures=keys.keyring,
                out_of_room=out_of_room,
                process_remote_join=ingest.events.process_remote_join,
                already_at=sender.already_at,
                clock=clock,
            ),
        )


@attrs.frozen(kw_only=True)
class FederationEdus:
    """Typing, receipts, presence and to-device EDUs, each registered for its
    inbound type (device list and signing key EDUs: ``federation_e2ee.py``)."""

    registry: EduRegistry
    typing: typing_edus.TypingEdus
    receipts: receipt_edus.ReceiptEdus
    presence: presence_edus.PresenceEdus
    to_device: to_device_edus.ToDeviceEdus

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        registry: EduRegistry,
        sender: FederationSender,
        accounts: AccountsBundle,
        devices: DevicesBundle,
        rooms: RoomsBundle,
        sync_data: SyncDataBundle,
        presence: PresenceBundle,
    ) -> FederationEdus:
        name = core.server_name
        edus = cls(
            registry=registry,
            typing=typing_edus.TypingEdus(
                server_name=name,
                sender=sender,
                typing=sync_data.typing,
                permissions=rooms.permissions,
            ),
            receipts=receipt_edus.ReceiptEdus(
                server_name=name,
                sender=sender,
                receipts=sync_data.receipts,
                permissions=rooms.permissions,
                events=core.events,
            ),
            presence=presence_edus.PresenceEdus(
                server_name=name,
                sender=sender,
                presence=presence.service,
                room_state=core.room_state,
                clock=core.clock,
            ),
            to_device=to_device_edus.ToDeviceEdus(
                sender,
                sync_data.to_device,
                core.ratelimiter,
                core.config.rate_limiting.new_destinations,
            ),
        )
        registry.register(typing_edus.EDU_TYPE, edus.typing.handle)
        registry.register(receipt_edus.EDU_TYPE, edus.receipts.handle)
        registry.register(presence_edus.EDU_TYPE, edus.presence.handle)
        registry.register(to_device_edus.EDU_TYPE, edus.to_device.handle)
        return edus
