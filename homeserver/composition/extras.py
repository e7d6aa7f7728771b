"""Smaller client features: OpenID tokens, TURN credentials, server notices,
and the legacy endpoints Synapse still serves."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.rooms import RoomsBundle
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.services.extras.openid import OpenIdService
from homeserver.services.extras.server_notices import ServerNoticesService
from homeserver.services.extras.turn import TurnService
from homeserver.storage.stores.openid import OpenIdStore
from homeserver.storage.stores.server_notices import ServerNoticesStore


@attrs.frozen(kw_only=True)
class ExtrasBundle:
    """OpenID, TURN, server notices, /events and /initialSync."""

    openid: OpenIdService
    turn: TurnService
    server_notices: ServerNoticesService

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        accounts: AccountsBundle,
        rooms: RoomsBundle,
        sync_data: SyncDataBundle,
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
        )
