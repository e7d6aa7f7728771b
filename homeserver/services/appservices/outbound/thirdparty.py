"""Third-party lookups (client-server API v1.19, "Third-party Networks"),
answered by the application services that bridge each protocol.

``/thirdparty/protocols`` merges what every AS says of its protocols: the
first answer for a protocol is the base and the ``instances`` of all are
joined, each given an ``instance_id`` of ``{appserviceId}|{network_id}``
(Synapse's form). Location and user lookups ask every AS that declares the
protocol (or, for the reverse lookups by alias or user ID, every AS with a
protocol) and join the answers; an AS that fails is left out.
"""

from __future__ import annotations

from typing import Any

from homeserver.errors import Codes, MatrixError
from homeserver.services.appservices.outbound.api_client import AppServiceApi
from homeserver.services.appservices.outbound.target import (
    AppServiceTarget,
    Registrations,
)
from homeserver.types import JsonDict
from homeserver.util.ports import Port

LOCATION = "location"
USER = "user"
# The key each kind of result must carry besides protocol and fields.
_ID_KEY = {LOCATION: "alias", USER: "userid"}


class ThirdPartyService:
    """Aggregates third-party lookups over the application services.

    Args:
        registrations: the registered application services.
        api: requests to them.
    """

    def __init__(self, registrations: Port[Registrations], api: AppServiceApi) -> None:
        self.registrations = registrations
        self.api = api

    def _bridging(self, protocol: str | None) -> list[AppServiceTarget]:
        return [
            s
            for s in self.registrations.get().all()
            if s.url and (protocol in s.protocols if protocol else s.protocols)
        ]

    async def protocols(self) -> JsonDict:
        """GET /thirdparty/protocols."""
        names = sorted({p for s in self._bridging(None) for p in s.protocols})
        out: JsonDict = {}
        for name in names:
            merged = await self._protocol(name)
            if merged is not None:
                out[name] = merged
        return out

    async def protocol(self, protocol: str) -> JsonDict:
        """GET /thirdparty/protocol/{protocol}.

        Raises:
            MatrixError: 404 M_NOT_FOUND when no AS describes it.
        """
        merged = await self._protocol(protocol)
        if merged is None:
            raise MatrixError(404, "Unknown protocol", Codes.NOT_FOUND)
        return merged

    async def _protocol(self, protocol: str) -> JsonDict | None:
        merged: JsonDict | None = None
        for service in self._bridging(protocol):
            info = await self.api.thirdparty(service, "protocol", protocol, {})
            if not isinstance(info, dict):
                continue
            instances = [
                dict(i, instance_id=f"{service.id}|{i['network_id']}")
                if isinstance(i.get("network_id"), str)
                else dict(i)
                for i in info.get("instances", [])
                if isinstance(i, dict)
            ]
            if merged is None:
                merged = dict(info, instances=instances)
            else:
                merged["instances"].extend(instances)
        return merged

    async def lookup(self, kind: str, protocol: str, query: JsonDict) -> list[Any]:
        """GET /thirdparty/{location,user}/{protocol} (``protocol`` set) or
        the reverse lookup /thirdparty/{location,user} (``protocol`` empty)."""
        found: list[Any] = []
        for service in self._bridging(protocol or None):
            answer = await self.api.thirdparty(service, kind, protocol, query)
            if isinstance(answer, list):
                found.extend(r for r in answer if _valid(kind, r))
        return found


def _valid(kind: str, result: Any) -> bool:
    return (
        isinstance(result, dict)
        and isinstance(result.get(_ID_KEY[kind]), str)
        and isinstance(result.get("protocol"), str)
        and isinstance(result.get("fields"), dict)
    )
