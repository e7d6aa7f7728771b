"""Requests to application services (application-service API v1.19:
``/_matrix/app/v1/transactions``, ``/users``, ``/rooms``, ``/ping`` and
``/thirdparty``).

Every request carries ``Authorization: Bearer <hs_token>`` (spec v1.4 and
later; the legacy ``access_token`` query parameter is not sent, as Synapse
does not by default). Requests go through the guarded client
(``http_client.untrusted``, set up from ``appservice.ip_range_*``), which
checks each address after DNS and follows no redirect.
"""

from __future__ import annotations

import enum
import json
import logging
from typing import Any
from urllib.parse import quote, urlencode

from homeserver.http_client.untrusted import (
    OutboundRequestError,
    OutboundResponse,
    RequestTimedOutError,
    UntrustedHttpClient,
)
from homeserver.services.appservices.outbound.target import AppServiceTarget
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)

APP_PREFIX = "/_matrix/app/v1"


class Failure(enum.Enum):
    """How a request to an AS failed."""

    NO_URL = "no_url"
    CONNECTION = "connection"
    TIMEOUT = "timeout"
    BAD_STATUS = "bad_status"


class AppServiceRequestError(Exception):
    """A request to an AS failed (``failure``; ``code``/``body``: its status
    and raw body for BAD_STATUS)."""

    def __init__(
        self, failure: Failure, message: str, code: int = 0, body: str = ""
    ) -> None:
        super().__init__(message)
        self.failure = failure
        self.code = code
        self.body = body


class AppServiceApi:
    """Talks to application services.

    Args:
        http: the guarded client (no redirects followed).
    """

    def __init__(self, http: UntrustedHttpClient) -> None:
        self.http = http

    async def push_transaction(
        self, service: AppServiceTarget, txn_id: int, body: JsonDict
    ) -> None:
        """PUT a transaction; returns once the AS answered 2xx.

        Raises:
            AppServiceRequestError: anything else.
        """
        path = f"/transactions/{quote(str(txn_id), safe='')}"
        await self._call(service, "PUT", path, body)

    async def query_user(self, service: AppServiceTarget, user_id: str) -> bool:
        """Ask the AS to create ``user_id``; whether it says it exists now."""
        return await self._query(service, f"/users/{quote(user_id, safe='')}")

    async def query_alias(self, service: AppServiceTarget, alias: str) -> bool:
        """Ask the AS to create the room ``alias``; whether it says it did."""
        return await self._query(service, f"/rooms/{quote(alias, safe='')}")

    async def ping(self, service: AppServiceTarget, transaction_id: str | None) -> None:
        """POST /ping (with ``transaction_id`` if given).

        Raises:
            AppServiceRequestError: no URL, unreachable, too slow, or not 2xx.
        """
        body: JsonDict = {}
        if transaction_id is not None:
            body["transaction_id"] = transaction_id
        await self._call(service, "POST", "/ping", body)

    async def thirdparty(
        self, service: AppServiceTarget, kind: str, protocol: str, query: JsonDict
    ) -> Any:
        """GET ``/thirdparty/{kind}/{protocol}`` (or ``/thirdparty/{kind}``
        when ``protocol`` is empty) with ``query`` as parameters; the parsed
        answer, or None if the AS failed."""
        path = f"/thirdparty/{kind}"
        if protocol:
            path += f"/{quote(protocol, safe='')}"
        if query:
            path += "?" + urlencode(sorted(query.items()))
        try:
            return await self._call(service, "GET", path, None)
        except AppServiceRequestError as exc:
            logger.warning(
                "third-party %s lookup at %s failed: %s", kind, service.id, exc
            )
            return None

    async def _query(self, service: AppServiceTarget, path: str) -> bool:
        try:
            await self._call(service, "GET", path, None)
        except AppServiceRequestError as exc:
            if exc.failure is not Failure.BAD_STATUS or exc.code != 404:
                logger.warning("query %s to %s failed: %s", path, service.id, exc)
            return False
        return True

    async def _call(
        self, service: AppServiceTarget, method: str, path: str, body: Any
    ) -> Any:
        if not service.url:
            raise AppServiceRequestError(Failure.NO_URL, "the AS has no URL")
        url = service.url.rstrip("/") + APP_PREFIX + path
        headers = {"Authorization": f"Bearer {service.hs_token}"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        try:
            response = await self.http.request(method, url, headers, data)
        except RequestTimedOutError as exc:
            raise AppServiceRequestError(Failure.TIMEOUT, str(exc)) from None
        except OutboundRequestError as exc:
            raise AppServiceRequestError(Failure.CONNECTION, str(exc)) from None
        return _answer(method, path, response)


def _answer(method: str, path: str, response: OutboundResponse) -> Any:
    if not 200 <= response.code < 300:
        raise AppServiceRequestError(
            Failure.BAD_STATUS,
            f"{method} {path.split('?')[0]} answered {response.code}",
            response.code,
            response.body.decode("utf-8", "replace"),
        )
    try:
        return json.loads(response.body) if response.body else None
    except ValueError:
        return None
