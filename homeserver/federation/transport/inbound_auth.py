"""Authenticating inbound federation requests by their X-Matrix signature.

Spec: server-server-api.md "Request Authentication". The signature covers the
method, the request target exactly as sent, origin, destination and the JSON
body; it must be made with a key currently in the origin's ``verify_keys``.
"""

from __future__ import annotations

import logging

from homeserver.api.http.request import ApiRequest
from homeserver.config.model import FederationConfig
from homeserver.errors import Codes, MatrixError
from homeserver.federation.keys.keyring import KeyRing
from homeserver.federation.transport.auth import (
    XMatrixAuth,
    parse_x_matrix,
    verify_request,
)
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)


def _unauthorized(msg: str) -> MatrixError:
    return MatrixError(401, msg, Codes.UNAUTHORIZED)


class FederationAuthenticator:
    """Checks the X-Matrix header of inbound requests.

    Args:
        server_name: our server name (the only destination we accept).
        config: the federation section (enabled, domain_whitelist).
        keyring: finds the origin's keys.
        clock: the time source.
    """

    def __init__(
        self, server_name: str, config: FederationConfig, keyring: KeyRing, clock: Clock
    ) -> None:
        self.server_name = server_name
        self.config = config
        self.keyring = keyring
        self.clock = clock

    def check_allowed(self, origin: str) -> None:
        """Refuse a server federation is not open to.

        Raises:
            MatrixError: 403 M_FORBIDDEN if federation is off or ``origin`` is
                not in ``domain_whitelist``.
        """
        if not self.config.enabled:
            raise MatrixError(403, "Federation is disabled", Codes.FORBIDDEN)
        whitelist = self.config.domain_whitelist
        if whitelist is not None and origin not in whitelist:
            logger.warning("Refused a request from %s: not whitelisted", origin)
            raise MatrixError(
                403, "Federation with this server is not allowed", Codes.FORBIDDEN
            )

    async def authenticate(self, request: ApiRequest) -> str:
        """The origin server of a validly signed request.

        Raises:
            MatrixError: 401 M_UNAUTHORIZED for a missing or bad signature or
                a wrong destination; 400 M_UNAUTHORIZED for a malformed
                X-Matrix header (one part missing, an origin that is no
                server name such as ``localhost:http``); 403 M_FORBIDDEN when
                federation with the origin is not allowed; 400 for a body that
                is not JSON.
        """
        if not self.config.enabled:
            raise MatrixError(403, "Federation is disabled", Codes.FORBIDDEN)
        header = request.header("authorization")
        if not header:
            raise _unauthorized("Missing Authorization header")
        try:
            auth = parse_x_matrix(header)
        except ValueError as exc:
            logger.info("Bad X-Matrix header from %s: %s", request.client_ip, exc)
            # 400, not 401: the request is malformed, whoever sent it (as
            # Synapse answers it, with M_UNAUTHORIZED).
            raise MatrixError(
                400, f"Malformed Authorization header: {exc}", Codes.UNAUTHORIZED
            ) from None
        if auth.destination is not None and auth.destination != self.server_name:
            logger.warning(
                "Request from %s for destination %s, not us",
                auth.origin,
                auth.destination,
            )
            raise _unauthorized("Request is not for this server (destination)")
        self.check_allowed(auth.origin)
        content = request.json(check_values=False) if request.body.strip() else None
        await self._check_signature(auth, request, content)
        return auth.origin

    async def _check_signature(
        self, auth: XMatrixAuth, request: ApiRequest, content: object
    ) -> None:
        key = await self.keyring.get_verify_key(
            auth.origin, auth.key_id, self.clock.time_msec()
        )
        if key is None:
            logger.warning(
                "Request from %s: no usable key %s", auth.origin, auth.key_id
            )
            raise _unauthorized(f"Failed to find a valid key {auth.key_id}")
        if not verify_request(
            auth, request.method, request.uri, self.server_name, content, key
        ):
            logger.warning(
                "Bad request signature from %s (%s %s)",
                auth.origin,
                request.method,
                request.uri,
            )
            raise _unauthorized("Invalid request signature")
