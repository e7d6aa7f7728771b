"""The composition root: builds every store, service and endpoint, in order.

Each component receives exactly its collaborators; nothing looks anything up
from a global or from the server object.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twisted.web.resource import Resource

from homeserver.api.admin import endpoints as admin
from homeserver.api.client import (
    account,
    devices,
    directory,
    login,
    presence,
    profile,
    register,
    room_read,
    room_send,
    room_upgrade,
    rooms,
    sync,
    versions,
)
from homeserver.api.client import filter as filter_api
from homeserver.api.federation.well_known import WellKnownServerEndpoint
from homeserver.api.http.router import Router
from homeserver.api.http.site import HomeserverResource
from homeserver.api.metrics import MetricsEndpoint
from homeserver.api.websocket.resource import with_websocket
from homeserver.api.websocket.session import SessionDeps
from homeserver.config.model import HomeserverConfig
from homeserver.events.model import Event, EventTypes
from homeserver.federation.interfaces import FederationTransport
from homeserver.server_federation import FederationServices
from homeserver.server_sync_data import SyncDataServices
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.admin import (
    RegistrationTokenService,
    SharedSecretRegistrationService,
)
from homeserver.services.accounts.auth import Auth
from homeserver.services.accounts.login import LoginService
from homeserver.services.accounts.passwords import PasswordHasher
from homeserver.services.accounts.profile import ProfileService
from homeserver.services.accounts.registration import RegistrationService
from homeserver.services.accounts.sessions import SessionService
from homeserver.services.accounts.ui_auth import DummyStage, UserInteractiveAuth
from homeserver.services.accounts.ui_auth_stages import (
    DUMMY,
    PASSWORD,
    REGISTRATION_TOKEN,
    PasswordStage,
    RegistrationTokenStage,
)
from homeserver.services.devices.devices import DeviceService
from homeserver.services.presence.presence import PresenceService
from homeserver.services.reading.pagination import PaginationService
from homeserver.services.reading.room_reads import RoomReadService
from homeserver.services.reading.serializer import EventSerializer
from homeserver.services.reading.visibility import VisibilityService
from homeserver.services.rooms.directory import DirectoryService
from homeserver.services.rooms.event_creation import EventCreationService
from homeserver.services.rooms.membership import MembershipService
from homeserver.services.rooms.room_creation import RoomCreationService
from homeserver.services.rooms.room_events import RoomEventService
from homeserver.services.rooms.room_list import RoomListService
from homeserver.services.rooms.room_permissions import RoomPermissions
from homeserver.services.rooms.room_upgrade import RoomUpgradeService
from homeserver.services.rooms.state_resolver import StateResolver
from homeserver.services.sync.filter_service import FilterService
from homeserver.services.sync.sync import SyncService, SyncSources
from homeserver.services.sync.sync_rooms import RoomSyncBuilder
from homeserver.storage.database import Database, Runner
from homeserver.storage.id_generators import StreamIdGenerator
from homeserver.storage.migrations import prepare_database
from homeserver.storage.stores.devices import DeviceStore
from homeserver.storage.stores.directory import DirectoryStore
from homeserver.storage.stores.event_persistence import EventPersister
from homeserver.storage.stores.event_state import EventStateStore
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.filters import FilterStore
from homeserver.storage.stores.presence import PresenceStore
from homeserver.storage.stores.profiles import ProfileStore
from homeserver.storage.stores.registration_tokens import RegistrationTokenStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.state import StateStore
from homeserver.storage.stores.stream import StreamStore
from homeserver.storage.stores.sync import SyncBatchStore, SyncStore
from homeserver.storage.stores.tokens import TokenStore
from homeserver.storage.stores.ui_auth import UiAuthStore
from homeserver.storage.stores.users import UserStore
from homeserver.streams.notifier import Notifier
from homeserver.util.clock import Clock
from homeserver.util.ratelimit import Ratelimiter
from homeserver.util.stream_change_cache import StreamChangeCache


class HomeServer:
    """One homeserver: config, storage, services and HTTP resources.

    Args:
        config: the validated config.
        data_dir: where the data directory is.
        reactor: the Twisted reactor (a fake one in tests).
        db: the database.
        blocking_runner: runs CPU-heavy blocking work (password hashing).
        signing_key: the server's ed25519 signing key.
        federation_transport: outbound federation requests go through this
            instead of the real HTTPS client (the in-process test network).
    """

    def __init__(
        self,
        config: HomeserverConfig,
        data_dir: Path,
        reactor: Any,
        db: Database,
        blocking_runner: Runner,
        signing_key: Any,
        federation_transport: FederationTransport | None = None,
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.reactor = reactor
        self.db = db
        self.clock = Clock(reactor)
        self.exit_code = 0
        server_name = config.server.server_name

        # Stores.
        self.users = UserStore(db)
        self.profile_store = ProfileStore(db)
        self.device_store = DeviceStore(db)
        self.tokens = TokenStore(db)
        self.registration_tokens = RegistrationTokenStore(db)
        self.ui_auth_store = UiAuthStore(db)
        self.stream_ids = StreamIdGenerator(0)
        self.state_group_ids = StreamIdGenerator(0)
        self.events = EventStore(db)
        self.state_store = StateStore(db, self.state_group_ids)
        self.room_state = RoomStateStore(db)
        self.directory_store = DirectoryStore(db)
        self.persister = EventPersister(
            db, self.events, self.state_store, self.stream_ids
        )
        self.event_state = EventStateStore(db, self.state_store)
        self.stream = StreamStore(db, self.stream_ids)

        # Services.
        self.ratelimiter = Ratelimiter(self.clock, config.rate_limiting.enabled)
        self.hasher = PasswordHasher(config.auth.password_hashing, blocking_runner)
        self.auth = Auth(self.tokens, self.device_store, self.clock)
        self.accounts = AccountService(
            server_name,
            config.registration,
            self.users,
            self.device_store,
            self.tokens,
            self.hasher,
            self.clock,
        )
        self.sessions = SessionService(
            config.auth, self.tokens, self.device_store, self.clock
        )
        self.uia = UserInteractiveAuth(
            self.ui_auth_store,
            {
                DUMMY: DummyStage(),
                PASSWORD: PasswordStage(self.accounts),
                REGISTRATION_TOKEN: RegistrationTokenStage(
                    self.registration_tokens, self.clock
                ),
            },
            self.clock,
            int(config.auth.ui_auth_session_timeout),
        )
        self.registration = RegistrationService(
            config.registration,
            config.rate_limiting,
            self.accounts,
            self.sessions,
            self.uia,
            self.registration_tokens,
            self.ratelimiter,
            self.clock,
        )
        self.login = LoginService(
            config.auth,
            config.rate_limiting,
            self.accounts,
            self.sessions,
            self.tokens,
            self.uia,
            self.ratelimiter,
            self.clock,
        )
        self.devices = DeviceService(self.device_store, self.uia)
        self.profiles = ProfileService(server_name, self.profile_store, self.users)
        self.registration_token_admin = RegistrationTokenService(
            self.registration_tokens, self.clock
        )
        self.shared_secret_registration = SharedSecretRegistrationService(
            config.registration.registration_shared_secret,
            self.ui_auth_store,
            self.accounts,
            self.sessions,
            self.profiles,
            self.clock,
        )

        self.notifier = Notifier(self.clock)
        self.notifier.add_stream("events", self.stream_ids.current_position)
        self.signing_key = signing_key
        self._build_room_services(signing_key)
        self.event_creation.listeners.append(self._notify_new_event)
        self._build_sync_services()
        self.persister.on_persisted.append(self._note_persisted)
        self._build_presence()
        self.sync_data = SyncDataServices.build(
            db,
            server_name,
            self.events,
            self.room_permissions,
            self.device_store,
            self.notifier,
            self.clock,
            self.config,
            self.ratelimiter,
        )
        self.event_creation.listeners.append(self.sync_data.on_new_event)
        self.sync_sources.account_data = self.sync_data.account_data
        self.sync_sources.receipts = self.sync_data.receipts
        self.sync_sources.typing = self.sync_data.typing
        self.sync_sources.to_device = self.sync_data.to_device
        self.federation = FederationServices(self, federation_transport)

    def _note_persisted(self, event: Event, stream_ordering: int) -> None:
        """Feed sync's change caches before the event's position is visible."""
        self.room_changes.entity_has_changed(event.room_id, stream_ordering)
        if event.type == EventTypes.MEMBER and event.state_key:
            self.sync.membership_changes.entity_has_changed(
                event.state_key, stream_ordering
            )

    def _notify_new_event(self, event: Event) -> None:
        """Wake the room's syncs, and the target of a membership change."""
        users = (
            [event.state_key]
            if event.type == EventTypes.MEMBER and event.state_key
            else []
        )
        self.notifier.notify("events", users=users, rooms=[event.room_id])

    def _build_room_services(self, signing_key: Any) -> None:
        server_name = self.config.server.server_name
        self.state_resolver = StateResolver(self.events, self.state_store)
        self.event_creation = EventCreationService(
            server_name,
            signing_key,
            self.events,
            self.room_state,
            self.state_resolver,
            self.persister,
            self.clock,
        )
        self.room_permissions = RoomPermissions(self.room_state, self.events)
        self.directory = DirectoryService(
            server_name,
            self.directory_store,
            self.room_state,
            self.room_permissions,
            self.event_creation,
            self.clock,
            self.config.room_directory.require_membership_for_aliases,
        )
        self.room_list = RoomListService(server_name, self.directory_store, self.events)
        self.membership = MembershipService(
            server_name,
            self.event_creation,
            self.room_state,
            self.profile_store,
            self.directory,
            self.ratelimiter,
            self.config.rate_limiting,
        )
        self.room_creation = RoomCreationService(
            server_name,
            self.config.server.default_room_version,
            self.event_creation,
            self.membership,
            self.directory,
            self.ratelimiter,
            self.config.rate_limiting,
        )
        self.room_events = RoomEventService(
            self.event_creation,
            self.events,
            self.ratelimiter,
            self.config.rate_limiting,
            self.directory.check_canonical_alias,
        )
        self.room_upgrades = RoomUpgradeService(
            server_name,
            self.event_creation,
            self.room_creation,
            self.membership,
            self.directory,
            self.room_permissions,
            self.room_state,
            self.events,
        )
        self.serializer = EventSerializer(self.events, self.clock)
        self.visibility = VisibilityService(
            self.events, self.event_state, self.room_state
        )
        self.room_reads = RoomReadService(
            self.events,
            self.room_state,
            self.event_state,
            self.stream,
            self.visibility,
            self.serializer,
        )
        self.pagination = PaginationService(
            self.events, self.stream, self.event_state, self.visibility, self.serializer
        )

    def _build_sync_services(self) -> None:
        self.sync_store = SyncStore(self.db)
        self.filter_service = FilterService(FilterStore(self.db))
        self.room_changes = StreamChangeCache("room_events", 0)
        self.sync_sources = SyncSources()
        self.sync = SyncService(
            self.sync_store,
            self.room_state,
            RoomSyncBuilder(
                SyncBatchStore(self.db),
                self.events,
                self.event_state,
                self.visibility,
                self.serializer,
            ),
            self.filter_service,
            self.notifier,
            self.room_changes,
            self.sync_sources,
            self.clock,
        )

    def _build_presence(self) -> None:
        self.presence_ids = StreamIdGenerator(0)
        self.presence_store = PresenceStore(self.db)
        self.presence = PresenceService(
            self.config.server.server_name,
            self.config.presence,
            self.presence_store,
            self.users,
            self.notifier,
            self.presence_ids,
            self.clock,
        )
        self.notifier.add_stream("presence", self.presence.current_position)
        self.event_creation.listeners.append(self.presence.on_new_event)
        self.sync_sources.presence = self.presence

    async def setup(self) -> None:
        """Bring the database schema up to date and load stream positions."""
        await prepare_database(self.db)
        await self.stream_ids.load(self.db, "events", "stream_ordering")
        await self.state_group_ids.load(self.db, "state_groups", "id")
        await self.presence_ids.load(self.db, "user_presence", "stream_id")
        await self.presence.start()
        await self.sync_data.load(self.db)
        # Changes before this point are unknown to the cache: it says "maybe".
        self.room_changes.earliest_known = self.stream_ids.current_position()
        self.sync.membership_changes.earliest_known = self.room_changes.earliest_known
        await self.federation.start()

    def client_endpoints(self) -> list[Any]:
        """Every client-server and admin endpoint."""
        auth = self.auth
        return [
            versions.VersionsEndpoint(),
            versions.WellKnownClientEndpoint(self.config),
            WellKnownServerEndpoint(self.config.well_known.server),
            versions.CapabilitiesEndpoint(self.config, auth),
            login.LoginEndpoint(self.login),
            login.LogoutEndpoint(auth, self.sessions),
            login.LogoutAllEndpoint(auth, self.sessions),
            login.RefreshEndpoint(self.sessions),
            login.LoginTokenEndpoint(auth, self.login),
            register.RegisterEndpoint(self.registration),
            register.RegisterAvailableEndpoint(self.registration),
            register.RegistrationTokenValidityEndpoint(self.registration),
            account.WhoamiEndpoint(auth),
            account.PasswordEndpoint(auth, self.accounts, self.uia),
            account.DeactivateEndpoint(auth, self.accounts, self.uia),
            devices.DevicesEndpoint(auth, self.devices),
            devices.DeviceEndpoint(auth, self.devices),
            devices.DeleteDevicesEndpoint(auth, self.devices),
            profile.ProfileEndpoint(self.profiles),
            profile.ProfileFieldEndpoint(auth, self.profiles),
            rooms.CreateRoomEndpoint(auth, self.room_creation),
            rooms.JoinedRoomsEndpoint(auth, self.membership),
            rooms.JoinEndpoint(auth, self.membership),
            rooms.KnockEndpoint(auth, self.membership),
            rooms.LeaveEndpoint(auth, self.membership),
            rooms.MembershipChangeEndpoint(auth, self.membership),
            rooms.ForgetEndpoint(auth, self.membership),
            sync.SyncEndpoint(auth, self.sync),
            presence.PresenceStatusEndpoint(auth, self.presence),
            filter_api.CreateFilterEndpoint(auth, self.filter_service),
            filter_api.GetFilterEndpoint(auth, self.filter_service),
            room_send.SendEventEndpoint(auth, self.room_events),
            room_send.SetStateEndpoint(auth, self.room_events),
            room_send.RedactEndpoint(auth, self.room_events),
            room_upgrade.RoomUpgradeEndpoint(auth, self.room_upgrades),
            directory.RoomAliasEndpoint(auth, self.directory),
            directory.RoomAliasesEndpoint(auth, self.directory),
            directory.DirectoryVisibilityEndpoint(auth, self.directory),
            directory.PublicRoomsEndpoint(
                auth,
                self.room_list,
                self.config.room_directory.allow_public_rooms_without_auth,
            ),
            room_read.RoomEventEndpoint(auth, self.room_reads),
            room_read.RoomStateEndpoint(auth, self.room_reads),
            room_read.RoomStateEventEndpoint(auth, self.room_reads),
            room_read.RoomMembersEndpoint(auth, self.room_reads),
            room_read.JoinedMembersEndpoint(auth, self.room_reads),
            room_read.MessagesEndpoint(auth, self.pagination),
            room_read.ContextEndpoint(auth, self.pagination),
            room_read.TimestampToEventEndpoint(auth, self.room_reads),
            *self.sync_data.endpoints(auth),
            admin.SharedSecretRegisterEndpoint(self.shared_secret_registration),
            admin.RegistrationTokensEndpoint(auth, self.registration_token_admin),
            admin.NewRegistrationTokenEndpoint(auth, self.registration_token_admin),
            admin.RegistrationTokenEndpoint(auth, self.registration_token_admin),
            *self.federation.admin_endpoints(auth),
        ]

    def build_resource(
        self,
        resources: Sequence[str],
        cors_origins: list[str] | None = None,
        x_forwarded: bool = False,
    ) -> Resource:
        """The root resource for a listener serving ``resources``: HTTP, plus the
        WebSocket transport on client listeners when it is enabled."""
        router = Router()
        if "client" in resources:
            for endpoint in self.client_endpoints():
                router.add_endpoint(endpoint)
        if "federation" in resources:
            for endpoint in self.federation.endpoints():
                router.add_endpoint(endpoint)
        if self.config.metrics.enabled and (
            "metrics" in resources
            or not any("metrics" in lst.resources for lst in self.config.listeners)
        ):
            router.add_endpoint(MetricsEndpoint())
        http = HomeserverResource(
            router,
            cors_origins
            if cors_origins is not None
            else self.config.http.cors_allowed_origins,
            x_forwarded,
        )
        if "client" not in resources or not self.config.websocket.enabled:
            return http
        deps = SessionDeps(
            self.auth,
            self.sync,
            router,
            self.clock,
            self.config.websocket,
            int(self.config.http.max_request_body_size),
        )
        return with_websocket(http, router, deps, x_forwarded, self.reactor)
