"""What the ``PluginAPI`` facade needs from the server, as one small bundle.

The composition root (``homeserver/composition/plugin_api.py``) fills it in
once per server; every plugin's facade shares it. Plugins never see it: it is
the inside that the facade hides.
"""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.http_client.untrusted import UntrustedHttpClient
from homeserver.plugins.routes import PluginRouteTable
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.auth import Auth
from homeserver.services.accounts.profile import ProfileService
from homeserver.services.rooms.membership import MembershipService
from homeserver.services.rooms.room_creation import RoomCreationService
from homeserver.services.rooms.room_events import RoomEventService
from homeserver.storage.stores.plugin_kv import PluginKvStore
from homeserver.storage.stores.users import UserStore
from homeserver.util.clock import Clock


@attrs.frozen(kw_only=True)
class PluginServices:
    """The server parts behind every plugin's facade."""

    server_name: str
    clock: Clock
    accounts: AccountService
    """Creates users (the same path as ``/register``)."""
    profiles: ProfileService
    auth: Auth
    """Access tokens to users, for the plugin routes' auth helper."""
    users: UserStore
    membership: MembershipService
    room_creation: RoomCreationService
    room_events: RoomEventService
    """Sends events through the normal auth and persist path."""
    room_state: Any
    """The current-state store (``RoomStateStore``)."""
    events: Any
    """The event store (``EventStore``)."""
    kv: PluginKvStore
    routes: PluginRouteTable
    """Every plugin's HTTP routes, served under ``/_chatly/plugins/``."""
    http: UntrustedHttpClient
    """The guarded client of ``PluginAPI.http_request`` (``plugins.ip_range_*``)."""
    runs_background_tasks: bool = True
    """Whether this process runs the deployment's background tasks (every
    process loads the plugins; docs/scaling.md, "Duties")."""
