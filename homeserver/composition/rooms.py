"""The rooms domain: making events, membership, room creation and upgrades,
aliases and the room directory."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.services.rooms.directory import DirectoryService
from homeserver.services.rooms.event_creation import (
    EventCreationService,
    NewEventSignals,
)
from homeserver.services.rooms.membership import MembershipService
from homeserver.services.rooms.profile_propagation import ProfilePropagator
from homeserver.services.rooms.room_creation import RoomCreationService
from homeserver.services.rooms.room_events import RoomEventService, all_of
from homeserver.services.rooms.room_list import RoomListService
from homeserver.services.rooms.room_permissions import RoomPermissions
from homeserver.services.rooms.room_upgrade import RoomUpgradeService
from homeserver.services.rooms.state_resolver import StateResolver
from homeserver.storage.stores.directory import DirectoryStore
from homeserver.storage.stores.profiles import ProfileStore


@attrs.frozen(kw_only=True)
class RoomsBundle:
    """Everything that changes rooms for local users."""

    directory_store: DirectoryStore
    state_resolver: StateResolver
    event_creation: EventCreationService
    permissions: RoomPermissions
    directory: DirectoryService
    room_list: RoomListService
    membership: MembershipService
    room_creation: RoomCreationService
    room_events: RoomEventService
    room_upgrades: RoomUpgradeService
    profile_propagation: ProfilePropagator

    @classmethod
    def build(cls, *, core: Core, accounts: AccountsBundle) -> RoomsBundle:
        server_name = core.server_name
        directory_store = DirectoryStore(core.db)
        resolver = StateResolver(core.events, core.state)
        creator = EventCreationService(
            server_name=server_name,
            signing_key=core.signing_key,
            events=core.events,
            room_state=core.room_state,
            resolver=resolver,
            persister=core.persister,
            signals=NewEventSignals(
                new_event=core.signals.new_event,
                membership_changed=core.signals.membership_changed,
            ),
            clock=core.clock,
        )
        permissions = RoomPermissions(core.room_state, core.events)
        directory = DirectoryService(
            server_name=server_name,
            store=directory_store,
            room_state=core.room_state,
            permissions=permissions,
            creator=creator,
            clock=core.clock,
            require_membership_for_aliases=(
                core.config.room_directory.require_membership_for_aliases
            ),
            appservices=accounts.appservices,
        )
        membership = MembershipService(
            server_name=server_name,
            creator=creator,
            room_state=core.room_state,
            profiles=accounts.stores.profiles,
            directory=directory,
            ratelimiter=core.ratelimiter,
            rates=core.config.rate_limiting,
            forgotten=core.signals.room_forgotten,
        )
        return cls._with_room_services(
            core,
            directory_store=directory_store,
            state_resolver=resolver,
            event_creation=creator,
            permissions=permissions,
            directory=directory,
            membership=membership,
            profiles=accounts.stores.profiles,
        )

    @classmethod
    def _with_room_services(
        cls,
        core: Core,
        *,
        directory_store: DirectoryStore,
        state_resolver: StateResolver,
        event_creation: EventCreationService,
        permissions: RoomPermissions,
        directory: DirectoryService,
        membership: MembershipService,
        profiles: ProfileStore,
    ) -> RoomsBundle:
        """The bundle, with the services built over the ones given."""
        server_name = core.server_name
        room_creation = RoomCreationService(
            server_name=server_name,
            default_room_version=core.config.server.default_room_version,
            creator=event_creation,
            membership=membership,
            directory=directory,
            ratelimiter=core.ratelimiter,
            rates=core.config.rate_limiting,
        )
        return cls(
            directory_store=directory_store,
            state_resolver=state_resolver,
            event_creation=event_creation,
            permissions=permissions,
            directory=directory,
            room_list=RoomListService(server_name, directory_store, core.events),
            membership=membership,
            room_creation=room_creation,
            room_events=RoomEventService(
                creator=event_creation,
                events=core.events,
                ratelimiter=core.ratelimiter,
                rates=core.config.rate_limiting,
                state_check=all_of(
                    directory.check_canonical_alias, membership.federate_invite
                ),
            ),
            room_upgrades=RoomUpgradeService(
                server_name=server_name,
                creator=event_creation,
                rooms=room_creation,
                membership=membership,
                directory=directory,
                permissions=permissions,
                room_state=core.room_state,
                events=core.events,
            ),
            profile_propagation=ProfilePropagator(
                event_creation, core.room_state, core.events, profiles
            ),
        )
