"""The three JSON methods of ``FederationTransport``, written once.

Every transport (the real client, the unavailable stand-in, the test
loopback) sends requests one way; this base class turns ``get_json``,
``put_json`` and ``post_json`` into calls of its single ``request`` method.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import urlencode

from homeserver.federation.interfaces import Query


def request_uri(path: str, query: Query | None) -> str:
    """The request target a transport sends and signs: path plus query."""
    return path + ("?" + urlencode(query, doseq=True) if query else "")


class JsonRequests(ABC):
    """``FederationTransport`` in terms of one ``request`` method."""

    @abstractmethod
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
        """Send one request; the parsed JSON of a 2xx answer.

        Raises:
            RequestSendFailed: the destination could not be reached.
            HttpResponseError: it answered with a non-2xx status.
        """

    async def get_json(
        self,
        destination: str,
        path: str,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
        signed: bool = True,
    ) -> Any:
        """GET a JSON resource from ``destination``."""
        return await self.request(
            "GET", destination, path, None, query, timeout_ms=timeout_ms, signed=signed
        )

    async def put_json(
        self,
        destination: str,
        path: str,
        body: Any,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
    ) -> Any:
        """PUT a JSON body to ``destination``."""
        return await self.request(
            "PUT", destination, path, body, query, timeout_ms=timeout_ms
        )

    async def post_json(
        self,
        destination: str,
        path: str,
        body: Any,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
    ) -> Any:
        """POST a JSON body to ``destination``."""
        return await self.request(
            "POST", destination, path, body, query, timeout_ms=timeout_ms
        )
