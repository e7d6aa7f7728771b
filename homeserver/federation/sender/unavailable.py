"""A stand-in transport for a server built without an outbound client."""

from __future__ import annotations

from typing import Any

from homeserver.federation.errors import RequestSendFailed


class UnavailableTransport:
    """Every request fails as retriable: the queues keep everything."""

    async def get_json(self, destination: str, path: str, *a: Any, **k: Any) -> Any:
        """Fail."""
        raise RequestSendFailed(f"no federation transport for {destination}")

    async def put_json(self, destination: str, path: str, *a: Any, **k: Any) -> Any:
        """Fail."""
        raise RequestSendFailed(f"no federation transport for {destination}")

    async def post_json(self, destination: str, path: str, *a: Any, **k: Any) -> Any:
        """Fail."""
        raise RequestSendFailed(f"no federation transport for {destination}")
