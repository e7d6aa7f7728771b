"""Requests to push gateways (push gateway API v1.19,
``POST /_matrix/push/v1/notify``).

They go through the guarded client (``http_client.untrusted``, set up from
the ``push`` section): every address is checked after DNS resolution, no
redirect is followed, a denied address is never connected to.
"""

from __future__ import annotations

import json
import logging

from homeserver.http_client.untrusted import OutboundRequestError, UntrustedHttpClient
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)


class GatewayError(Exception):
    """A notification was not accepted. ``retry``: worth trying again later
    (no answer, a 5xx or 429); else the gateway refused this request for
    good (another 4xx)."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class PushGatewayClient:
    """Posts notifications to push gateways.

    Args:
        http: the guarded client (no redirects).
    """

    def __init__(self, http: UntrustedHttpClient) -> None:
        self.http = http

    async def notify(self, url: str, notification: JsonDict) -> list[str]:
        """POST one notification.

        Returns:
            The pushkeys the gateway ``rejected``.

        Raises:
            GatewayError: no 2xx answer.
        """
        body = json.dumps({"notification": notification}).encode()
        try:
            response = await self.http.request(
                "POST", url, {"Content-Type": "application/json"}, body
            )
        except OutboundRequestError as exc:
            raise GatewayError(str(exc), retry=True) from exc
        if not 200 <= response.code < 300:
            retry = response.code >= 500 or response.code == 429
            raise GatewayError(f"the gateway answered {response.code}", retry=retry)
        try:
            answer = json.loads(response.body)
        except ValueError:
            logger.warning("a push gateway answered with a body that is not JSON")
            return []
        rejected = answer.get("rejected") if isinstance(answer, dict) else None
        if not isinstance(rejected, list):
            return []
        return [r for r in rejected if isinstance(r, str)]
