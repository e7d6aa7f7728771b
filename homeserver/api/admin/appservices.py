"""Admin API of the application-service queues (docs/appservices.md,
"Admin"), shaped like the federation destinations API.

``GET /_chatly/admin/v1/appservices``, ``GET .../appservices/{appserviceId}``
and ``POST .../appservices/{appserviceId}/retry``.
"""

from __future__ import annotations

from typing import Any

from homeserver.api.http.auth import admin_of
from homeserver.api.http.request import ApiRequest
from homeserver.services.accounts.auth import Auth
from homeserver.services.appservices.outbound.admin import AppServiceQueueAdmin
from homeserver.types import JsonDict

APPSERVICES = "/_chatly/admin/v1/appservices"


class _Base:
    def __init__(self, auth: Auth, admin: AppServiceQueueAdmin) -> None:
        self.auth = auth
        self.admin = admin


class AppServiceQueuesEndpoint(_Base):
    """GET /_chatly/admin/v1/appservices."""

    PATTERNS = [APPSERVICES]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.admin.list_queues()


class AppServiceQueueEndpoint(_Base):
    """GET /_chatly/admin/v1/appservices/{appserviceId}."""

    PATTERNS = [f"{APPSERVICES}/{{appservice_id}}"]

    async def on_GET(self, request: ApiRequest, appservice_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.admin.get_queue(appservice_id)


class AppServiceRetryEndpoint(_Base):
    """POST /_chatly/admin/v1/appservices/{appserviceId}/retry."""

    PATTERNS = [f"{APPSERVICES}/{{appservice_id}}/retry"]

    async def on_POST(self, request: ApiRequest, appservice_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.admin.retry(appservice_id)


def appservice_admin_endpoints(auth: Auth, admin: AppServiceQueueAdmin) -> list[Any]:
    """Every endpoint of this module."""
    return [
        AppServiceQueuesEndpoint(auth, admin),
        AppServiceQueueEndpoint(auth, admin),
        AppServiceRetryEndpoint(auth, admin),
    ]
