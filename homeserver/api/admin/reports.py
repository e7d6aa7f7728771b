"""Admin API for reports, at Synapse's paths: ``/_synapse/admin/v1/
event_reports``, ``user_reports`` (as Synapse) and ``room_reports`` (the same
shape), each with ``/{reportId}`` for GET and DELETE."""

from __future__ import annotations

from typing import Any

from homeserver.api.http.auth import admin_of
from homeserver.api.http.request import ApiRequest
from homeserver.services.accounts.auth import Auth
from homeserver.services.reports.admin import ReportAdmin
from homeserver.types import JsonDict

ADMIN_V1 = "/_synapse/admin/v1"
# kind -> the query parameters that filter its list
_FILTERS = {
    "event": ("room_id", "user_id", "event_sender_user_id"),
    "room": ("room_id", "user_id"),
    "user": ("user_id", "target_user_id"),
}


class _Endpoint:
    KIND: str

    def __init__(self, auth: Auth, admin: ReportAdmin) -> None:
        self.auth = auth
        self.admin = admin


class _ReportsEndpoint(_Endpoint):
    """GET /_synapse/admin/v1/<kind>_reports?from=&limit=&dir=&<filters>."""

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        filters = {name: request.query_str(name) for name in _FILTERS[self.KIND]}
        return await self.admin.list_reports(
            self.KIND,
            request.query_int("from"),
            request.query_int("limit"),
            request.query_str("dir"),
            filters,
        )


class _ReportEndpoint(_Endpoint):
    """GET and DELETE /_synapse/admin/v1/<kind>_reports/{reportId}."""

    async def on_GET(self, request: ApiRequest, report_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.admin.get_report(self.KIND, report_id)

    async def on_DELETE(self, request: ApiRequest, report_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.admin.delete_report(self.KIND, report_id)


class EventReportsEndpoint(_ReportsEndpoint):
    """GET /_synapse/admin/v1/event_reports."""

    KIND = "event"
    PATTERNS = [f"{ADMIN_V1}/event_reports"]


class EventReportEndpoint(_ReportEndpoint):
    """GET, DELETE /_synapse/admin/v1/event_reports/{reportId}."""

    KIND = "event"
    PATTERNS = [f"{ADMIN_V1}/event_reports/{{report_id}}"]


class RoomReportsEndpoint(_ReportsEndpoint):
    """GET /_synapse/admin/v1/room_reports."""

    KIND = "room"
    PATTERNS = [f"{ADMIN_V1}/room_reports"]


class RoomReportEndpoint(_ReportEndpoint):
    """GET, DELETE /_synapse/admin/v1/room_reports/{reportId}."""

    KIND = "room"
    PATTERNS = [f"{ADMIN_V1}/room_reports/{{report_id}}"]


class UserReportsEndpoint(_ReportsEndpoint):
    """GET /_synapse/admin/v1/user_reports."""

    KIND = "user"
    PATTERNS = [f"{ADMIN_V1}/user_reports"]


class UserReportEndpoint(_ReportEndpoint):
    """GET, DELETE /_synapse/admin/v1/user_reports/{reportId}."""

    KIND = "user"
    PATTERNS = [f"{ADMIN_V1}/user_reports/{{report_id}}"]


def report_admin_endpoints(auth: Auth, admin: ReportAdmin) -> list[Any]:
    """The list and single-report endpoints of each kind of report."""
    return [
        cls(auth, admin)
        for cls in (
            EventReportsEndpoint,
            EventReportEndpoint,
            RoomReportsEndpoint,
            RoomReportEndpoint,
            UserReportsEndpoint,
            UserReportEndpoint,
        )
    ]
