"""The user admin API's services: accounts, their actions, rooms and
devices for server admins (``/_synapse/admin/v1|v2/users/...``)."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.rooms import RoomsBundle
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.services.accounts.user_admin import UserAdmin
from homeserver.services.accounts.user_admin_actions import UserAdminActions
from homeserver.services.devices.admin import DeviceAdmin
from homeserver.services.rooms.admin_memberships import AdminMemberships
from homeserver.storage.stores.pushers import PusherStore
from homeserver.storage.stores.threepids import ThreepidStore
from homeserver.storage.stores.user_admin import UserAdminStore


@attrs.frozen(kw_only=True)
class UserAdminBundle:
    """The services behind the user admin API."""

    store: UserAdminStore
    users: UserAdmin
    actions: UserAdminActions
    devices: DeviceAdmin

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        accounts: AccountsBundle,
        rooms: RoomsBundle,
        sync_data: SyncDataBundle,
    ) -> UserAdminBundle:
        store = UserAdminStore(core.db)
        threepids = ThreepidStore(core.db)
        actions = UserAdminActions(
            server_name=core.server_name,
            store=store,
            accounts=accounts.accounts,
            threepids=threepids,
            rooms=AdminMemberships(rooms.membership, core.room_state),
            pushers=PusherStore(core.db),
            account_data=sync_data.account_data.store,
        )
        users = UserAdmin(
            server_name=core.server_name,
            store=store,
            accounts=accounts.accounts,
            profiles=accounts.profiles,
            threepids=threepids,
            deactivator=actions,
            clock=core.clock,
        )
        devices = DeviceAdmin(
            server_name=core.server_name,
            devices=accounts.stores.devices,
            users=accounts.stores.users,
            clock=core.clock,
        )
        return cls(store=store, users=users, actions=actions, devices=devices)
