"""A stand-in transport for a server built without an outbound client."""

from __future__ import annotations

from typing import Any

from homeserver.federation.errors import RequestSendFailed
from homeserver.federation.interfaces import Query, RawResponse
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

    async def get_bytes(
        self,
        destination: str,
        path: str,
        query: Query | None = None,
        *,
        max_bytes: int,
        timeout_ms: int | None = None,
    ) -> RawResponse:
        """Fail."""
        raise RequestSendFailed(f"no federation transport for {destination}")
