"""Smaller client features: OpenID tokens, TURN credentials, server notices,
and the legacy endpoints Synapse still serves."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.presence import PresenceBundle
from homeserver.composition.reading import ReadingBundle
from homeserver.composition.rooms import RoomsBundle
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.events.model import Membership
from homeserver.services.extras.event_stream import EventStreamService
from homeserver.services.extras.initial_sync import InitialSyncService
from homeserver.services.extras.openid import OpenIdService
from homeserver.services.extras.server_notices import ServerNoticesService
from homeserver.services.extras.turn import TurnService
from homeserver.services.rooms.guest_access import GuestMembership
from homeserver.storage.stores.event_stream import EventStreamStore
from homeserver.storage.stores.openid import OpenIdStore
from homeserver.storage.stores.server_notices import ServerNoticesStore
from homeserver.storage.stores.sync import SyncStore


@attrs.frozen(kw_only=True)
class ExtrasBundle:
    """OpenID, TURN, server notices, /events and /initialSync."""

    openid: OpenIdService
    turn: TurnService
    server_notices: ServerNoticesService
    event_stream: EventStreamService
    initial_sync: InitialSyncService
    guest_membership: GuestMembership

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        accounts: AccountsBundle,
        rooms: RoomsBundle,
        reading: ReadingBundle,
        sync_data: SyncDataBundle,
        presence: PresenceBundle,
    ) -> ExtrasBundle:
        return cls(
            openid=OpenIdService(core.server_name, OpenIdStore(core.db), core.clock),
            turn=TurnService(core.config.voip, core.clock),
            server_notices=ServerNoticesService(
                config=core.config.server_notices,
                server_name=core.server_name,
                accounts=accounts.accounts,
                users=accounts.stores.users,
                profiles=accounts.stores.profiles,
                room_creation=rooms.room_creation,
                membership=rooms.membership,
                creator=rooms.event_creation,
                room_state=core.room_state,
                account_data=sync_data.account_data,
                store=ServerNoticesStore(core.db),
            ),
            event_stream=EventStreamService(
                events=core.events,
                stream=EventStreamStore(core.db),
                memberships=SyncStore(core.db),
                room_state=core.room_state,
                visibility=reading.visibility,
                personal=reading.personal,
                serializer=reading.serializer,
                room_reads=reading.room_reads,
                typing=sync_data.typing,
                receipts=sync_data.receipts,
                presence=presence.service,
                notifier=core.notifier,
                clock=core.clock,
            ),
            initial_sync=InitialSyncService(
                events=core.events,
                room_state=core.room_state,
                visibility=reading.visibility,
                personal=reading.personal,
                serializer=reading.serializer,
                room_reads=reading.room_reads,
                pagination=reading.pagination,
                directory=rooms.directory,
                account_data=sync_data.account_data,
                receipts=sync_data.receipts,
                presence=presence.service,
                notifier=core.notifier,
            ),
            guest_membership=GuestMembership(
                server_name=core.server_name,
                room_state=core.room_state,
                users=accounts.stores.users,
                leave=lambda room_id, user_id: rooms.membership.send_membership(
                    room_id, user_id, user_id, Membership.LEAVE, None, {}
                ),
            ),
        )
