"""``HomeServer``: one built server, as the app and the tests see it.

``composition/homeserver.py`` builds it; this holds the result: the Core,
one bundle per domain, the federation wing, and start-up and listener
resources.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs
from twisted.web.resource import Resource

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.appservice_outbound import AppServiceOutboundBundle
from homeserver.composition.appservices import AppServicesBundle
from homeserver.composition.core import Core
from homeserver.composition.devices import DevicesBundle
from homeserver.composition.duties import Duties, start_duties
from homeserver.composition.e2ee import E2eeBundle
from homeserver.composition.extras import ExtrasBundle
from homeserver.composition.federation import FederationBundle
from homeserver.composition.mail import MailBundle
from homeserver.composition.media import MediaBundle
from homeserver.composition.media_admin import MediaAdminBundle
from homeserver.composition.plugins import PluginsBundle
from homeserver.composition.presence import PresenceBundle
from homeserver.composition.push_email import EmailPushBundle
from homeserver.composition.push_eval import PushEvalBundle
from homeserver.composition.pushers import PushersBundle
from homeserver.composition.reading import ReadingBundle
from homeserver.composition.relations import RelationsBundle
from homeserver.composition.reports import ReportsBundle
from homeserver.composition.resource import build_resource
from homeserver.composition.room_admin import RoomAdminBundle
from homeserver.composition.rooms import RoomsBundle
from homeserver.composition.search import SearchBundle
from homeserver.composition.spaces import SpacesBundle
from homeserver.composition.sync import SyncBundle
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.composition.third_party_invites import ThirdPartyInvitesBundle
from homeserver.composition.threepids import ThreepidsBundle
from homeserver.composition.user_admin import UserAdminBundle
from homeserver.composition.user_directory import UserDirectoryBundle
from homeserver.composition.workers import WorkersBundle
from homeserver.config.model import HomeserverConfig
from homeserver.plugins.api import PluginAPI
from homeserver.plugins.services import PluginServices


@attrs.define(kw_only=True)
class HomeServer:
    """One homeserver: the Core, a bundle per domain, the federation wing."""

    data_dir: Path
    core: Core
    accounts: AccountsBundle
    presence: PresenceBundle
    devices: DevicesBundle
    e2ee: E2eeBundle
    rooms: RoomsBundle
    reading: ReadingBundle
    search: SearchBundle
    relations: RelationsBundle
    user_directory: UserDirectoryBundle
    sync_data: SyncDataBundle
    sync: SyncBundle
    push_eval: PushEvalBundle
    extras: ExtrasBundle
    spaces: SpacesBundle
    reports: ReportsBundle
    media: MediaBundle
    media_admin: MediaAdminBundle
    user_admin: UserAdminBundle
    room_admin: RoomAdminBundle
    mail: MailBundle
    threepids: ThreepidsBundle
    federation: FederationBundle
    appservices: AppServicesBundle
    appservice_outbound: AppServiceOutboundBundle
    pushers: PushersBundle
    push_email: EmailPushBundle
    third_party_invites: ThirdPartyInvitesBundle
    plugins: PluginsBundle
    workers: WorkersBundle
    """The topology, the replication over Redis and the internal API's auth
    (idle in a one-process deployment)."""
    plugin_services: PluginServices
    """What every plugin's ``PluginAPI`` facade works through
    (``composition/plugin_api.py``)."""
    plugin_apis: dict[str, PluginAPI] = attrs.field(factory=dict)
    """Each loaded plugin's facade, by name."""
    duties: Duties = attrs.field(factory=Duties)
    """The background duties this process runs (all of them unless a worker
    deployment gives some to other processes; ``composition/duties.py``)."""
    exit_code: int = 0
    """The process exit status (set when start-up fails)."""

    @property
    def config(self) -> HomeserverConfig:
        """The server's config."""
        return self.core.config

    async def setup(self) -> None:
        """Migrate the database, load the streams, start background work."""
        # The replication streams' tails are noted before the positions are
        # loaded, so nothing written in between is missed.
        await self.workers.replication.prepare()
        await self.core.setup()
        await self.workers.replication.start()
        await self.presence.service.start()
        self.sync.start(self.core)
        await start_duties(self, self.duties)
        await self.plugins.start()

    async def shutdown(self) -> None:
        """Tell the plugins the server is stopping, then cancel their timers
        and tasks and drop their routes."""
        await self.plugins.stop()
        self.workers.replication.stop()
        self.core.ratelimiter.close()
        self.pushers.stop()
        self.push_eval.pruner.stop()
        for api in self.plugin_apis.values():
            api.close()

    def build_resource(
        self,
        resources: Sequence[str],
        cors_origins: list[str] | None = None,
        x_forwarded: bool = False,
    ) -> Resource:
        """The root resource for a listener serving ``resources``: HTTP, plus
        the WebSocket transport on client listeners when it is enabled."""
        return build_resource(self, resources, cors_origins, x_forwarded)
