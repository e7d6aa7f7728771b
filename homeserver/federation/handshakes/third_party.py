"""Forwarding a bound third-party invite to the inviter's server.

Spec: server-server API "Third-party invites": a server that learns of a
binding (``/3pid/onbind``) for an invite another server's user sent calls
``PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId}`` there.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from homeserver.errors import MatrixError
from homeserver.federation.errors import FederationError, HttpResponseError
from homeserver.federation.interfaces import FederationTransport
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)


class ThirdPartyInviteForwarder:
    """``RemoteThirdPartyInvitePort`` over federation."""

    def __init__(self, server_name: str, transport: FederationTransport) -> None:
        self.server_name = server_name
        self.transport = transport

    async def exchange(
        self, destinations: list[str], room_id: str, event: JsonDict
    ) -> None:
        """Try each destination (not ourselves) until one accepts, as Synapse's
        ``forward_third_party_invite``.

        Raises:
            MatrixError: a destination refused it (its status and errcode),
                or none could be reached (502).
        """
        path = "/_matrix/federation/v1/exchange_third_party_invite/" + quote(
            room_id, safe=""
        )
        for destination in destinations:
            if destination == self.server_name:
                continue
            try:
                await self.transport.put_json(destination, path, event)
                return
            except HttpResponseError as e:
                message = e.body.get("error") if isinstance(e.body, dict) else None
                raise MatrixError(
                    e.code if 400 <= e.code < 500 else 502,
                    str(message or "The inviter's server refused the invite"),
                    e.errcode or "M_UNKNOWN",
                ) from None
            except FederationError as e:
                logger.warning(
                    "exchange_third_party_invite failed",
                    extra={"destination": destination, "error": str(e)},
                )
        raise MatrixError(502, "Failed to forward third party invite")
