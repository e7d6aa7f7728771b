"""The one place a plugin's ``PluginAPI`` facade is made.

``plugin_services`` gathers, once per server, the parts every facade works
through; ``make_plugin_api(hs, name, config)`` is what each plugin is constructed
with (``cls(api, config)``); the facade itself lives in
``homeserver/plugins/api.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeserver.http_client.untrusted import UntrustedHttpClient
from homeserver.plugins.api import PluginAPI
from homeserver.plugins.outbound import plugin_http_client
from homeserver.plugins.routes import PluginRouteTable
from homeserver.plugins.services import PluginServices
from homeserver.storage.stores.plugin_kv import PluginKvStore
from homeserver.workers.duty_relay import runs_unsharded
from homeserver.workers.roles import Duty

if TYPE_CHECKING:
    from homeserver.composition.accounts import AccountsBundle
    from homeserver.composition.core import Core
    from homeserver.composition.rooms import RoomsBundle
    from homeserver.composition.server import HomeServer


def plugin_services(
    *,
    core: Core,
    accounts: AccountsBundle,
    rooms: RoomsBundle,
    http: UntrustedHttpClient | None = None,
) -> PluginServices:
    """The server parts behind every plugin's facade; plugins' outbound
    requests go through ``http`` if given (tests), else a guarded client with
    the ``plugins.ip_range_*`` filter."""
    config = core.config.plugins
    if http is None:
        http = plugin_http_client(
            core.reactor,
            config.ip_range_blacklist,
            config.ip_range_whitelist,
            config.http_timeout / 1000,
        )
    return PluginServices(
        server_name=core.server_name,
        clock=core.clock,
        accounts=accounts.accounts,
        profiles=accounts.profiles,
        auth=accounts.auth,
        users=accounts.stores.users,
        membership=rooms.membership,
        room_creation=rooms.room_creation,
        room_events=rooms.room_events,
        room_state=core.room_state,
        events=core.events,
        kv=PluginKvStore(core.db),
        routes=PluginRouteTable(),
        http=http,
        runs_background_tasks=runs_unsharded(core.topology, Duty.BACKGROUND_TASKS),
    )


def make_plugin_api(hs: HomeServer, name: str, config: Any = None) -> PluginAPI:
    """The facade the plugin called ``name`` gets, with ``config`` (its
    parsed settings: an instance of its ``CONFIG`` class, or None) and its
    configured bot localpart (``plugins.load[].bot_localpart``). The server
    keeps it, to close it at shutdown."""
    entry = next((e for e in hs.config.plugins.load if e.name == name), None)
    api = PluginAPI(
        name,
        hs.plugin_services,
        config,
        bot_localpart=entry.bot_localpart if entry is not None else None,
    )
    hs.plugin_apis[name] = api
    return api
