"""Third-party lookups, answered by the bridging application services.

Spec: client-server API v1.19, "Third-party Networks"
(data/api/client-server/third_party_lookup.yaml).
"""

from __future__ import annotations

from typing import Any

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.appservices.outbound.thirdparty import (
    LOCATION,
    USER,
    ThirdPartyService,
)
from homeserver.types import JsonDict

# The parameter a reverse lookup needs.
REVERSE_KEY = {LOCATION: "alias", USER: "userid"}


def _fields(request: ApiRequest) -> JsonDict:
    """The query parameters passed on to the AS (the token is not)."""
    return {k: v[0] for k, v in request.query.items() if v and k != "access_token"}


class _Base:
    def __init__(self, auth: Auth, service: ThirdPartyService) -> None:
        self.auth = auth
        self.service = service


class ProtocolsEndpoint(_Base):
    """GET /thirdparty/protocols."""

    PATTERNS = client_patterns("/thirdparty/protocols")

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await requester_of(self.auth, request, allow_guest=True)
        return await self.service.protocols()


class ProtocolEndpoint(_Base):
    """GET /thirdparty/protocol/{protocol}."""

    PATTERNS = client_patterns("/thirdparty/protocol/{protocol}")

    async def on_GET(self, request: ApiRequest, protocol: str) -> JsonDict:
        await requester_of(self.auth, request, allow_guest=True)
        return await self.service.protocol(protocol)


def _lookup_endpoint(kind: str) -> tuple[type, type]:
    """The by-protocol and reverse lookup endpoints of ``kind``."""

    class ByProtocol(_Base):
        PATTERNS = client_patterns(f"/thirdparty/{kind}/{{protocol}}")

        async def on_GET(self, request: ApiRequest, protocol: str) -> list[Any]:
            await requester_of(self.auth, request, allow_guest=True)
            return await self.service.lookup(kind, protocol, _fields(request))

    class Reverse(_Base):
        PATTERNS = client_patterns(f"/thirdparty/{kind}")

        async def on_GET(self, request: ApiRequest) -> list[Any]:
            await requester_of(self.auth, request, allow_guest=True)
            key = REVERSE_KEY[kind]
            value = request.query_str(key, required=True)
            return await self.service.lookup(kind, "", {key: value})

    ByProtocol.__name__ = ByProtocol.__qualname__ = f"ThirdParty{kind.title()}Endpoint"
    Reverse.__name__ = Reverse.__qualname__ = f"ThirdParty{kind.title()}ReverseEndpoint"
    return ByProtocol, Reverse


LocationEndpoint, LocationReverseEndpoint = _lookup_endpoint(LOCATION)
UserEndpoint, UserReverseEndpoint = _lookup_endpoint(USER)


def thirdparty_endpoints(auth: Auth, service: ThirdPartyService) -> list[Any]:
    """Every endpoint of this module."""
    return [
        cls(auth, service)
        for cls in (
            ProtocolsEndpoint,
            ProtocolEndpoint,
            LocationEndpoint,
            LocationReverseEndpoint,
            UserEndpoint,
            UserReverseEndpoint,
        )
    ]
