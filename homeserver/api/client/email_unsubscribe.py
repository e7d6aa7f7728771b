"""The unsubscribe link of email notifications: a Chatly endpoint under
``/_chatly/client/v1/`` (docs/push.md, "Email notifications"; docs/api.md).

``GET .../email/unsubscribe?token=...`` shows a confirmation page; ``POST``
to the same URL (the page's button, or RFC 8058 one-click from the
List-Unsubscribe-Post header) deletes the email pusher. No access token: the
signed token is the authority.
"""

from __future__ import annotations

from homeserver.api.http.request import ApiRequest
from homeserver.api.http.site import Response
from homeserver.services.push.email.kind import EmailUnsubscribeService

PREFIX = "/_chatly/client/v1"
_HTML = "text/html; charset=utf-8"


class EmailUnsubscribeEndpoint:
    """GET and POST /_chatly/client/v1/email/unsubscribe."""

    PATTERNS = [PREFIX + "/email/unsubscribe"]

    def __init__(self, unsubscribe: EmailUnsubscribeService) -> None:
        self.unsubscribe = unsubscribe

    async def on_GET(self, request: ApiRequest) -> Response:
        page = self.unsubscribe.confirmation_page(request.query_str("token"))
        return Response(page.encode("utf-8"), content_type=_HTML)

    async def on_POST(self, request: ApiRequest) -> Response:
        page = await self.unsubscribe.unsubscribe(request.query_str("token"))
        return Response(page.encode("utf-8"), content_type=_HTML)
