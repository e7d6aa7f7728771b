"""Signed outbound federation requests over HTTPS (treq).

Spec: server-server-api.md "Request Authentication" (the X-Matrix header on
every request) and "Resolving server names" (federation/discovery.py).
"""

from __future__ import annotations

import logging
from typing import Any

from signedjson.types import SigningKey

from homeserver.config.model import FederationConfig
from homeserver.federation.errors import RequestSendFailed
from homeserver.federation.interfaces import Query
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)


class FederationClient:
    """The production ``FederationTransport`` (work in progress: outbound
    requests are refused until server discovery lands).

    Args:
        server_name: our name (the origin of every request).
        signing_key: signs each request.
        config: the federation section.
        reactor: the Twisted reactor.
        clock: the time source.
    """

    def __init__(
        self,
        server_name: str,
        signing_key: SigningKey,
        config: FederationConfig,
        reactor: Any,
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.signing_key = signing_key
        self.config = config
        self.reactor = reactor
        self.clock = clock

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
        raise RequestSendFailed("outbound federation is not available yet")

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
        raise RequestSendFailed("outbound federation is not available yet")

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
        raise RequestSendFailed("outbound federation is not available yet")
