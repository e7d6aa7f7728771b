"""Where the code and the link of a verification mail come back: Chatly
endpoints under ``/_chatly/client/v1/`` (docs/api.md).

``POST .../email/submit_token`` (the ``submit_url`` of requestToken answers)
takes ``{sid, client_secret, token}`` with the mail's code (or the link's
token) and answers ``{"success": true}``. ``GET .../email/validate?sid=
&client_secret=&token=`` is the link: it validates at once, except for a
password reset, where it shows a page whose button POSTs to the same URL
(so a mail scanner that follows links cannot validate it for whoever asked).
A validated link leads to the session's ``next_link`` if there is one.
"""

from __future__ import annotations

from homeserver.api.client.bodies.threepids import SubmitTokenBody
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.site import Response
from homeserver.errors import MatrixError
from homeserver.services.threepids.validation import (
    PASSWORD_RESET,
    ThreepidValidationService,
)
from homeserver.types import JsonDict

PREFIX = "/_chatly/client/v1"
_HTML = "text/html; charset=utf-8"


class EmailSubmitTokenEndpoint:
    """POST /_chatly/client/v1/email/submit_token."""

    PATTERNS = [PREFIX + "/email/submit_token"]

    def __init__(self, validation: ThreepidValidationService) -> None:
        self.validation = validation

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        body = request.parse(SubmitTokenBody)
        await self.validation.submit_token(body.sid, body.client_secret, body.token)
        return {"success": True}


class EmailValidateLinkEndpoint:
    """GET and POST /_chatly/client/v1/email/validate (the mail's link)."""

    PATTERNS = [PREFIX + "/email/validate"]

    def __init__(self, validation: ThreepidValidationService) -> None:
        self.validation = validation

    async def on_GET(self, request: ApiRequest) -> Response:
        sid = request.query_str("sid") or ""
        if await self.validation.session_purpose(sid) == PASSWORD_RESET:
            page = self.validation.mails.page("validation_confirm")
            return Response(page.encode("utf-8"), content_type=_HTML)
        return await self.on_POST(request)

    async def on_POST(self, request: ApiRequest) -> Response:
        try:
            session = await self.validation.submit_token(
                request.query_str("sid") or "",
                request.query_str("client_secret") or "",
                request.query_str("token") or "",
            )
        except MatrixError as exc:
            page = self.validation.mails.page("validation_failed", reason=exc.msg)
            return Response(page.encode("utf-8"), content_type=_HTML, code=exc.code)
        if session.next_link:
            return Response(
                b"",
                content_type=_HTML,
                code=302,
                headers={"Location": session.next_link},
            )
        page = self.validation.mails.page("validation_done")
        return Response(page.encode("utf-8"), content_type=_HTML)
