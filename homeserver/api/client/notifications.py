"""``GET /notifications`` (spec v1.19, "Push Notifications", "Listing
Notifications"; data/api/client-server/notifications.yaml). Served under r0
too, where it was.
"""

from __future__ import annotations

from typing import Any

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.push.notifications import NotificationsService
from homeserver.types import JsonDict


class NotificationsEndpoint:
    """GET /notifications: the requester's notifications, newest first."""

    PATTERNS = client_patterns("/notifications")

    def __init__(self, auth: Auth, notifications: NotificationsService) -> None:
        self.auth = auth
        self.notifications = notifications

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.notifications.get_notifications(
            requester,
            from_token=request.query_str("from"),
            limit=request.query_int("limit"),
            only=request.query_str("only"),
        )


def notification_endpoints(auth: Auth, service: NotificationsService) -> list[Any]:
    """The endpoints of the notifications API."""
    return [NotificationsEndpoint(auth, service)]
