"""Building one homeserver, in the order of the architecture.

The Core (config, clock, database, streams, signals, the event DAG's stores),
then each domain over the ones below it, then the federation wing over them
all, then the bind step that connects them (federation only when it is on).
Every component gets exactly its collaborators, as keyword arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.appservice_outbound import AppServiceOutboundBundle
from homeserver.composition.appservices import AppServicesBundle
from homeserver.composition.bind import bind
from homeserver.composition.core import Core
from homeserver.composition.devices import DevicesBundle
from homeserver.composition.e2ee import E2eeBundle
from homeserver.composition.extras import ExtrasBundle
from homeserver.composition.federation import FederationBundle
from homeserver.composition.mail import MailBundle
from homeserver.composition.media import MediaBundle
from homeserver.composition.media_admin import MediaAdminBundle
from homeserver.composition.plugin_api import make_plugin_api, plugin_services
from homeserver.composition.plugins import PluginsBundle
from homeserver.composition.presence import PresenceBundle
from homeserver.composition.push_email import EmailPushBundle
from homeserver.composition.push_eval import PushEvalBundle
from homeserver.composition.pushers import PushersBundle
from homeserver.composition.reading import ReadingBundle
from homeserver.composition.relations import RelationsBundle
from homeserver.composition.reports import ReportsBundle
from homeserver.composition.room_admin import RoomAdminBundle
from homeserver.composition.rooms import RoomsBundle
from homeserver.composition.search import SearchBundle
from homeserver.composition.server import HomeServer
from homeserver.composition.spaces import SpacesBundle
from homeserver.composition.sync import SyncBundle
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.composition.third_party_invites import ThirdPartyInvitesBundle
from homeserver.composition.threepids import ThreepidsBundle
from homeserver.composition.user_admin import UserAdminBundle
from homeserver.composition.user_directory import UserDirectoryBundle
from homeserver.composition.worker_duties import bind_worker_duties
from homeserver.composition.worker_writes import bind_worker_writes
from homeserver.composition.workers import (
    BusIO,
    WorkersBundle,
    bind_workers,
    shared_ratelimiter,
)
from homeserver.config.model import HomeserverConfig
from homeserver.federation.interfaces import FederationTransport
from homeserver.http_client.untrusted import UntrustedHttpClient
from homeserver.storage.database import Database, Runner
from homeserver.workers.internal_client import InternalClient
from homeserver.workers.roles import MAIN


def build_homeserver(
    *,
    config: HomeserverConfig,
    data_dir: Path,
    reactor: Any,
    db: Database,
    blocking_runner: Runner,
    signing_key: Any,
    federation_transport: FederationTransport | None = None,
    io_runner: Runner | None = None,
    preview_http: UntrustedHttpClient | None = None,
    appservice_http: UntrustedHttpClient | None = None,
    plugin_http: UntrustedHttpClient | None = None,
    push_http: UntrustedHttpClient | None = None,
    identity_http: UntrustedHttpClient | None = None,
    worker_name: str = MAIN,
    bus_io: BusIO | None = None,
    replicate: bool = True,
) -> HomeServer:
    """One homeserver, ready for ``setup()``; outbound federation goes
    through ``federation_transport`` if given (the in-process test network);
    blocking network clients (boto3) run on ``io_runner`` (default:
    ``blocking_runner``); URL previews fetch through ``preview_http`` if
    given (tests: a fixed DNS table), requests to application services
    through ``appservice_http``, plugins' requests through ``plugin_http``, and
    requests to push gateways through ``push_http`` and requests to
    identity servers through ``identity_http``. ``worker_name`` is the
    process of a worker deployment this is (``--worker``; default main);
    its Redis bus reaches the reactor through ``bus_io`` if given (tests:
    a queue they pump), else ``callFromThread`` and a thread of its own;
    ``replicate`` False leaves Redis out (tests of other parts of a
    deployment on a fake reactor).

    Raises:
        ConfigError: a plugin cannot be loaded (``PluginLoadError`` names it).
        UnknownWorker: no worker is called ``worker_name``.
    """
    core = Core.build(
        config=config,
        reactor=reactor,
        db=db,
        blocking_runner=blocking_runner,
        signing_key=signing_key,
        io_runner=io_runner,
        worker_name=worker_name,
        ratelimiter=shared_ratelimiter(
            config=config,
            reactor=reactor,
            worker_name=worker_name,
            bus_io=bus_io,
            replicate=replicate,
        ),
    )
    # Plugins are imported and configured first, so a broken one stops the
    # server before anything else is built.
    plugins = PluginsBundle.build(core=core)
    appservices = AppServicesBundle.build(core=core, data_dir=data_dir)
    accounts = AccountsBundle.build(core=core, appservices=appservices.registry)
    presence = PresenceBundle.build(core=core, accounts=accounts)
    devices = DevicesBundle.build(core=core, accounts=accounts, presence=presence)
    rooms = RoomsBundle.build(core=core, accounts=accounts)
    sync_data = SyncDataBundle.build(core=core, accounts=accounts, rooms=rooms)
    reading = ReadingBundle.build(core=core, sync_data=sync_data)
    push_eval = PushEvalBundle.build(core=core, sync_data=sync_data, reading=reading)
    search = SearchBundle.build(core=core, reading=reading)
    relations = RelationsBundle.build(core=core, reading=reading)
    user_directory = UserDirectoryBundle.build(core=core)
    e2ee = E2eeBundle.build(
        core=core, accounts=accounts, devices=devices, sync_data=sync_data
    )
    sync = SyncBundle.build(
        core=core,
        reading=reading,
        sync_data=sync_data,
        presence=presence,
        devices=devices,
        e2ee=e2ee,
    )
    extras = ExtrasBundle.build(
        core=core,
        accounts=accounts,
        rooms=rooms,
        reading=reading,
        sync_data=sync_data,
        presence=presence,
    )
    spaces = SpacesBundle.build(core=core)
    reports = ReportsBundle.build(core=core, accounts=accounts, reading=reading)
    media = MediaBundle.build(core=core, data_dir=data_dir, preview_http=preview_http)
    media_admin = MediaAdminBundle.build(core=core, accounts=accounts, media=media)
    user_admin = UserAdminBundle.build(
        core=core, accounts=accounts, rooms=rooms, sync_data=sync_data
    )
    room_admin = RoomAdminBundle.build(core=core, accounts=accounts, rooms=rooms)
    mail = MailBundle.build(core=core)
    third_party_invites = ThirdPartyInvitesBundle.build(
        core=core, rooms=rooms, http=identity_http
    )
    threepids = ThreepidsBundle.build(
        core=core,
        accounts=accounts,
        mail=mail,
        identity=third_party_invites.identity,
    )
    federation = FederationBundle.build(
        core=core,
        accounts=accounts,
        devices=devices,
        e2ee=e2ee,
        rooms=rooms,
        sync_data=sync_data,
        presence=presence,
        extras=extras,
        spaces=spaces,
        media=media,
        transport=federation_transport,
    )
    appservice_outbound = AppServiceOutboundBundle.build(
        core=core,
        accounts=accounts,
        sync_data=sync_data,
        reading=reading,
        http=appservice_http,
    )
    pushers = PushersBundle.build(core=core, http=push_http)
    push_email = EmailPushBundle.build(
        core=core, mail=mail, pushers=pushers, profiles=accounts.stores.profiles
    )
    workers = WorkersBundle.build(
        core=core, data_dir=data_dir, bus_io=bus_io, replicate=replicate
    )
    hs = HomeServer(
        data_dir=data_dir,
        core=core,
        accounts=accounts,
        presence=presence,
        devices=devices,
        e2ee=e2ee,
        rooms=rooms,
        reading=reading,
        search=search,
        relations=relations,
        user_directory=user_directory,
        sync_data=sync_data,
        sync=sync,
        push_eval=push_eval,
        extras=extras,
        spaces=spaces,
        reports=reports,
        media=media,
        media_admin=media_admin,
        user_admin=user_admin,
        room_admin=room_admin,
        mail=mail,
        threepids=threepids,
        federation=federation,
        appservices=appservices,
        appservice_outbound=appservice_outbound,
        pushers=pushers,
        push_email=push_email,
        third_party_invites=third_party_invites,
        plugins=plugins,
        workers=workers,
        plugin_services=plugin_services(
            core=core, accounts=accounts, rooms=rooms, http=plugin_http
        ),
    )
    plugins.load(lambda name, settings: make_plugin_api(hs, name, settings))
    bind(hs, federation_on=config.federation.enabled)
    bind_workers(hs)
    if core.topology.enabled:
        hs.duties = bind_worker_duties(
            hs, topology=core.topology, client=workers.client
        )
        assert isinstance(workers.client, InternalClient)
        bind_worker_writes(hs, topology=core.topology, client=workers.client)
    return hs
