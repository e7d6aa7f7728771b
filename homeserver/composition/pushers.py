"""Pushers (docs/push.md, "Pushers"): the store, the pool and its ``http``
kind, the ``/pushers`` endpoints.

Other kinds (``email``) are registered on ``pool`` by their own bundles
before ``start``. The push actions are read from the eval domain's store;
the plugins' ``chatly_push`` is plugged into ``plugins`` by the bind step.
"""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.api.client.pushers import pusher_endpoints
from homeserver.composition.core import Core
from homeserver.config.sections.push import PushConfig
from homeserver.http_client.ip_filter import IpFilter
from homeserver.http_client.untrusted import HostResolver, UntrustedHttpClient
from homeserver.services.accounts.auth import Auth
from homeserver.services.push.pushers.details import EventDetailsReader
from homeserver.services.push.pushers.gateway import PushGatewayClient
from homeserver.services.push.pushers.http import (
    HttpPusherDeps,
    HttpPusherSettings,
    http_pusher_factory,
    validate_http_pusher,
)
from homeserver.services.push.pushers.pool import PusherKind, PusherPool
from homeserver.services.push.pushers.ports import (
    NoPushPlugins,
    PushActions,
    PushDeliveryHook,
)
from homeserver.services.push.pushers.service import PusherService
from homeserver.storage.stores.push_actions import PushActionsStore
from homeserver.storage.stores.pushers import PusherStore
from homeserver.streams.registry import EVENTS
from homeserver.util.ports import Port

PUSH_USER_AGENT = "Chatly (push)"


def push_client(
    reactor: Any, config: PushConfig, resolve_host: HostResolver | None = None
) -> UntrustedHttpClient:
    """The guarded client requests to push gateways go through: the
    ``push.ip_range_*`` filter, no redirect followed (``resolve_host``:
    another DNS, tests)."""
    return UntrustedHttpClient(
        reactor=reactor,
        resolve_host=resolve_host,
        ip_filter=IpFilter(config.ip_range_blacklist, config.ip_range_whitelist),
        timeout_s=config.request_timeout / 1000,
        max_redirects=0,
        user_agent=PUSH_USER_AGENT,
    )


def http_settings(config: PushConfig) -> HttpPusherSettings:
    """The ``push`` section as http pushers use it."""
    return HttpPusherSettings(
        include_content=config.include_content,
        group_unread_count_by_room=config.group_unread_count_by_room,
        retry_initial_ms=int(config.retry_initial),
        retry_max_ms=int(config.retry_max),
        give_up_after_ms=int(config.give_up_after),
    )


@attrs.frozen(kw_only=True)
class PushersBundle:
    """The pushers of one server."""

    store: PusherStore
    pool: PusherPool
    service: PusherService
    actions: PushActions
    plugins: Port[PushDeliveryHook]
    enabled: bool

    @classmethod
    def build(
        cls, *, core: Core, http: UntrustedHttpClient | None = None
    ) -> PushersBundle:
        """The bundle (``http``: the client to use instead of the default,
        tests)."""
        config = core.config.push
        store = PusherStore(core.db)
        pool = PusherPool(
            store=store,
            clock=core.clock,
            current_position=core.streams.ids(EVENTS).current_position,
        )
        actions = PushActionsStore(core.db)
        plugins: Port[PushDeliveryHook] = Port(NoPushPlugins())
        deps = HttpPusherDeps(
            actions=actions,
            details=EventDetailsReader(events=core.events, room_state=core.room_state),
            gateway=PushGatewayClient(http or push_client(core.reactor, config)),
            plugins=plugins,
            settings=http_settings(config),
        )
        pool.register_kind(
            PusherKind(
                name="http",
                factory=http_pusher_factory(deps),
                validate=validate_http_pusher,
            )
        )
        return cls(
            store=store,
            pool=pool,
            service=PusherService(store=store, pool=pool, clock=core.clock),
            actions=actions,
            plugins=plugins,
            enabled=config.enabled,
        )

    async def start(self) -> None:
        """Start every stored pusher (after the database is migrated and the
        other kinds are registered); nothing when ``push.enabled`` is off."""
        if self.enabled:
            await self.pool.start()

    def stop(self) -> None:
        """Stop the runners."""
        self.pool.stop()

    def client_endpoints(self, auth: Auth) -> list[Any]:
        """GET /pushers, POST /pushers/set."""
        return pusher_endpoints(auth, self.service)
