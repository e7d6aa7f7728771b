"""The outbound side of application services: the sender and its durable
queues, the AS HTTP client, ping and third-party lookups.

The registrations come through a Port that the registration model plugs
(``registrations.plug``); until then there are none and nothing is sent.
"""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.api.admin.appservices import appservice_admin_endpoints
from homeserver.api.client.appservice_ping import AppServicePingEndpoint
from homeserver.api.client.thirdparty import thirdparty_endpoints
from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.reading import ReadingBundle
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.config.sections.appservice import AppServiceConfig
from homeserver.http_client.ip_filter import IpFilter
from homeserver.http_client.untrusted import UntrustedHttpClient
from homeserver.services.accounts.auth import Auth
from homeserver.services.appservices.outbound.admin import AppServiceQueueAdmin
from homeserver.services.appservices.outbound.api_client import AppServiceApi
from homeserver.services.appservices.outbound.body import BodyBuilder
from homeserver.services.appservices.outbound.ephemeral import EphemeralForwarder
from homeserver.services.appservices.outbound.key_counts import KeyCountReader
from homeserver.services.appservices.outbound.ping import PingService
from homeserver.services.appservices.outbound.queries import AppServiceQueries
from homeserver.services.appservices.outbound.queue import QueueConfig
from homeserver.services.appservices.outbound.sender import AppServiceSender
from homeserver.services.appservices.outbound.target import (
    NoRegistrations,
    Registrations,
)
from homeserver.services.appservices.outbound.thirdparty import ThirdPartyService
from homeserver.services.presence.presence_rules import presence_event
from homeserver.storage.stores.appservice_outbox import AppServiceOutboxStore
from homeserver.storage.stores.directory import DirectoryStore
from homeserver.storage.stores.e2e_keys import E2eKeyStore
from homeserver.storage.stores.federation_stream import FederationStreamStore
from homeserver.streams.registry import APPSERVICE_OUTBOX, EVENTS
from homeserver.util.ports import Port

APPSERVICE_USER_AGENT = "Chatly (application services)"


def appservice_client(reactor: Any, config: AppServiceConfig) -> UntrustedHttpClient:
    """The guarded client requests to application services go through: the
    ``appservice.ip_range_*`` filter, no redirect followed."""
    return UntrustedHttpClient(
        reactor=reactor,
        ip_filter=IpFilter(config.ip_range_blacklist, config.ip_range_whitelist),
        timeout_s=config.request_timeout / 1000,
        max_redirects=0,
        user_agent=APPSERVICE_USER_AGENT,
    )


@attrs.frozen(kw_only=True)
class AppServiceOutboundBundle:
    """Everything that talks to application services."""

    registrations: Port[Registrations]
    api: AppServiceApi
    sender: AppServiceSender
    ping: PingService
    thirdparty: ThirdPartyService
    admin: AppServiceQueueAdmin
    ephemeral: EphemeralForwarder
    queries: AppServiceQueries

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        accounts: AccountsBundle,
        sync_data: SyncDataBundle,
        reading: ReadingBundle,
        http: UntrustedHttpClient | None = None,
    ) -> AppServiceOutboundBundle:
        """The bundle (``http``: the client to use instead of the default,
        tests)."""
        config = core.config.appservice
        registrations: Port[Registrations] = Port(NoRegistrations())
        api = AppServiceApi(http or appservice_client(core.reactor, config))
        store = AppServiceOutboxStore(core.db, core.streams.ids(APPSERVICE_OUTBOX))
        sender = AppServiceSender(
            services=lambda: registrations.get().all(),
            store=store,
            stream=FederationStreamStore(core.db),
            new_events=core.new_events,
            directory=DirectoryStore(core.db),
            events=core.events,
            clock=core.clock,
            current_position=core.streams.ids(EVENTS).current_position,
            queue_config=QueueConfig(
                store=store,
                api=api,
                bodies=BodyBuilder(
                    core.events,
                    lambda events: reading.serializer.serialize(events, None),
                    KeyCountReader(accounts.stores.devices, E2eKeyStore(core.db)),
                ),
                clock=core.clock,
                max_retry_interval_ms=int(config.max_retry_interval),
            ),
        )
        typing = sync_data.typing

        def typing_of(room_id: str) -> list[str]:
            found = typing.get_typing_for_rooms([room_id], None).get(room_id, {})
            return list(found.get("user_ids", []))

        return cls(
            registrations=registrations,
            api=api,
            sender=sender,
            ping=PingService(registrations, api, core.clock),
            thirdparty=ThirdPartyService(registrations, api),
            admin=AppServiceQueueAdmin(sender),
            queries=AppServiceQueries(registrations, api, accounts.stores.users),
            ephemeral=EphemeralForwarder(
                sender=sender,
                room_state=core.room_state,
                typing_of=typing_of,
                presence_event=presence_event,
                clock=core.clock,
            ),
        )

    async def start(self) -> None:
        """Resume the queues (after the database is migrated)."""
        await self.sender.start()

    def stop(self) -> None:
        """Cancel retry timers."""
        self.sender.stop()

    def client_endpoints(self, auth: Auth) -> list[Any]:
        """Ping and third-party lookups."""
        return [
            AppServicePingEndpoint(auth, self.ping),
            *thirdparty_endpoints(auth, self.thirdparty),
        ]

    def admin_endpoints(self, auth: Auth) -> list[Any]:
        """The queue admin API."""
        return appservice_admin_endpoints(auth, self.admin)
