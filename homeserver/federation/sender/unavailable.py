"""A stand-in transport for a server built without an outbound client."""

from __future__ import annotations

from typing import Any

from homeserver.federation.errors import RequestSendFailed
from homeserver.federation.interfaces import Query
from homeserver.federation.transport.json_requests import JsonRequests


class UnavailableTransport(JsonRequests):
    """Every request fails as retriable: the queues keep everything."""

    async def request(
        self,
        method: str,
        destination: str,
        path: str,
        body: Any = None,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
        signed: bool = True,
    ) -> Any:
        """Fail."""
        raise RequestSendFailed(f"no federation transport for {destination}")
