"""``POST /_matrix/client/v1/appservice/{appserviceId}/ping`` (client-server
API v1.19, "Application service ping", added in v1.7): the AS asks us to ping
it, and learns whether we can reach it and how long the round trip took."""

from __future__ import annotations

from homeserver.errors import Codes, MatrixError
from homeserver.services.accounts.auth import Requester
from homeserver.services.appservices.outbound.api_client import (
    AppServiceApi,
    AppServiceRequestError,
    Failure,
)
from homeserver.services.appservices.outbound.target import Registrations
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.ports import Port


class PingService:
    """Pings application services on their own request.

    Args:
        registrations: the registered application services.
        api: requests to them.
        clock: times the round trip.
    """

    def __init__(
        self, registrations: Port[Registrations], api: AppServiceApi, clock: Clock
    ) -> None:
        self.registrations = registrations
        self.api = api
        self.clock = clock

    async def ping(
        self, requester: Requester, as_id: str, transaction_id: str | None
    ) -> JsonDict:
        """Ping ``as_id`` on behalf of ``requester``, which must be that AS.

        Raises:
            MatrixError: 403 M_FORBIDDEN (not an AS, or another AS's ID), 400
                M_URL_NOT_SET, 502 M_BAD_STATUS / M_CONNECTION_FAILED, 504
                M_CONNECTION_TIMEOUT.
        """
        if requester.app_service_id is None:
            raise MatrixError(
                403, "Only application services may ping", Codes.FORBIDDEN
            )
        service = next(
            (s for s in self.registrations.get().all() if s.id == as_id), None
        )
        if service is None or requester.app_service_id != as_id:
            raise MatrixError(
                403,
                "The access token does not belong to this application service",
                Codes.FORBIDDEN,
            )
        started = self.clock.time_msec()
        try:
            await self.api.ping(service, transaction_id)
        except AppServiceRequestError as exc:
            raise _ping_error(exc) from None
        return {"duration_ms": self.clock.time_msec() - started}


def _ping_error(exc: AppServiceRequestError) -> MatrixError:
    if exc.failure is Failure.NO_URL:
        return MatrixError(
            400, "The application service has no URL configured", "M_URL_NOT_SET"
        )
    if exc.failure is Failure.TIMEOUT:
        return MatrixError(
            504,
            "The application service did not answer in time",
            "M_CONNECTION_TIMEOUT",
        )
    if exc.failure is Failure.BAD_STATUS:
        return MatrixError(
            502,
            "The application service answered with an error",
            "M_BAD_STATUS",
            {"status": exc.code, "body": exc.body},
        )
    return MatrixError(
        502, "The application service could not be reached", "M_CONNECTION_FAILED"
    )
