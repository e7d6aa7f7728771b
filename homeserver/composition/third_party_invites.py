"""Invites by third-party ID (docs/admin-guide.md "Invites by email"): the
identity server client (through the guarded client, ``identity_server``
section) and the service behind ``/invite`` with ``medium``/``address``,
``/3pid/onbind`` and ``exchange_third_party_invite``. Federation plugs the
forwarder into ``service.remote`` in the bind step."""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.api.federation.membership import Authenticator
from homeserver.api.federation.third_party_invites import (
    ExchangeThirdPartyInviteEndpoint,
    OnBindEndpoint,
)
from homeserver.composition.core import Core
from homeserver.composition.rooms import RoomsBundle
from homeserver.config.sections.identity import IdentityServerConfig
from homeserver.http_client.ip_filter import IpFilter
from homeserver.http_client.untrusted import HostResolver, UntrustedHttpClient
from homeserver.services.rooms.identity_client import (
    IDENTITY_USER_AGENT,
    IdentityServerClient,
)
from homeserver.services.rooms.third_party_invites import ThirdPartyInviteService


def identity_http_client(
    reactor: Any, config: IdentityServerConfig, resolve_host: HostResolver | None = None
) -> UntrustedHttpClient:
    """The guarded client requests to identity servers go through: the
    ``identity_server.ip_range_*`` filter, no redirect followed."""
    return UntrustedHttpClient(
        reactor=reactor,
        resolve_host=resolve_host,
        ip_filter=IpFilter(config.ip_range_blacklist, config.ip_range_whitelist),
        timeout_s=config.request_timeout / 1000,
        max_redirects=0,
        max_body_bytes=1024 * 1024,
        user_agent=IDENTITY_USER_AGENT,
    )


@attrs.frozen(kw_only=True)
class ThirdPartyInvitesBundle:
    """The identity server client and the third-party invite service."""

    identity: IdentityServerClient
    service: ThirdPartyInviteService

    @classmethod
    def build(
        cls, *, core: Core, rooms: RoomsBundle, http: UntrustedHttpClient | None
    ) -> ThirdPartyInvitesBundle:
        config = core.config.identity_server
        client = http or identity_http_client(core.reactor, config)
        identity = IdentityServerClient(client, config.scheme)
        service = ThirdPartyInviteService(
            server_name=core.server_name,
            creator=rooms.event_creation,
            membership=rooms.membership,
            permissions=rooms.permissions,
            identity=identity,
            lookup_enabled=config.enable_3pid_lookup,
        )
        return cls(identity=identity, service=service)

    def federation_endpoints(self, room_auth: Authenticator) -> list[Any]:
        """``/3pid/onbind`` and ``exchange_third_party_invite``."""
        return [
            OnBindEndpoint(self.service),
            ExchangeThirdPartyInviteEndpoint(room_auth, self.service),
        ]
