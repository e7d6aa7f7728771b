"""Reporting content: events, rooms and users.

Spec: client-server API "Reporting content" (report_content.yaml).
"""

from __future__ import annotations

from homeserver.api.client.bodies.reports import ReportBody, ReportEventBody
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.reports.filing import EventReport, ReportService
from homeserver.types import JsonDict


class _Endpoint:
    def __init__(self, auth: Auth, reports: ReportService) -> None:
        self.auth = auth
        self.reports = reports


class ReportEventEndpoint(_Endpoint):
    """POST /rooms/{roomId}/report/{eventId} (also under r0)."""

    PATTERNS = client_patterns("/rooms/{room_id}/report/{event_id}")

    async def on_POST(
        self, request: ApiRequest, room_id: str, event_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(ReportEventBody, allow_empty=True)
        report = EventReport(reason=body.reason, score=body.score)
        await self.reports.report_event(requester, room_id, event_id, report)
        return {}


class ReportRoomEndpoint(_Endpoint):
    """POST /rooms/{roomId}/report (v1.13)."""

    PATTERNS = client_patterns("/rooms/{room_id}/report", r0=False)

    async def on_POST(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(ReportBody)
        await self.reports.report_room(requester, room_id, body.reason)
        return {}


class ReportUserEndpoint(_Endpoint):
    """POST /users/{userId}/report (v1.14)."""

    PATTERNS = client_patterns("/users/{user_id}/report", r0=False)

    async def on_POST(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(ReportBody)
        await self.reports.report_user(requester, user_id, body.reason)
        return {}
