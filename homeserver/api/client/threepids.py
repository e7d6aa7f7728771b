"""The requestToken endpoints and /account/3pid/*.

Spec: client-server API, "Adding account administrative contact
information", "POST /register/email/requestToken", "POST
/account/password/email/requestToken".
"""

from __future__ import annotations

from homeserver.api.client.bodies.threepids import (
    EmailRequestTokenBody,
    ThreepidAddBody,
    ThreepidBindBody,
    ThreepidDeleteBody,
)
from homeserver.api.http.auth import requester_of, uia_operation
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.errors import Codes, MatrixError
from homeserver.services.accounts.auth import Auth
from homeserver.services.threepids.account import AccountThreepidService
from homeserver.services.threepids.validation import (
    ADD_THREEPID,
    PASSWORD_RESET,
    REGISTER,
    ThreepidValidationService,
    TokenRequest,
)
from homeserver.types import JsonDict


class _EmailRequestTokenEndpoint:
    """POST .../email/requestToken for one purpose."""

    PURPOSE = ""

    def __init__(self, validation: ThreepidValidationService) -> None:
        self.validation = validation

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        body = request.parse(EmailRequestTokenBody)
        return await self.validation.request_token(
            self.PURPOSE,
            TokenRequest(
                email=body.email,
                client_secret=body.client_secret,
                send_attempt=body.send_attempt,
                next_link=body.next_link,
            ),
            request.client_ip,
        )


class RegisterEmailRequestTokenEndpoint(_EmailRequestTokenEndpoint):
    """POST /register/email/requestToken."""

    PATTERNS = client_patterns("/register/email/requestToken")
    PURPOSE = REGISTER


class PasswordEmailRequestTokenEndpoint(_EmailRequestTokenEndpoint):
    """POST /account/password/email/requestToken."""

    PATTERNS = client_patterns("/account/password/email/requestToken")
    PURPOSE = PASSWORD_RESET


class ThreepidEmailRequestTokenEndpoint(_EmailRequestTokenEndpoint):
    """POST /account/3pid/email/requestToken."""

    PATTERNS = client_patterns("/account/3pid/email/requestToken")
    PURPOSE = ADD_THREEPID


class MsisdnRequestTokenEndpoint:
    """POST .../msisdn/requestToken: phone numbers are not verified here."""

    PATTERNS = [
        *client_patterns("/register/msisdn/requestToken"),
        *client_patterns("/account/password/msisdn/requestToken"),
        *client_patterns("/account/3pid/msisdn/requestToken"),
    ]

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        raise MatrixError(
            400,
            "Phone numbers are not supported on this server",
            Codes.THREEPID_MEDIUM_NOT_SUPPORTED,
        )


class ThreepidListEndpoint:
    """GET /account/3pid."""

    PATTERNS = client_patterns("/account/3pid")

    def __init__(self, auth: Auth, threepids: AccountThreepidService) -> None:
        self.auth = auth
        self.threepids = threepids

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.threepids.list_threepids(requester)


class ThreepidAddEndpoint:
    """POST /account/3pid/add, behind UIA."""

    PATTERNS = client_patterns("/account/3pid/add", r0=False)

    def __init__(self, auth: Auth, threepids: AccountThreepidService) -> None:
        self.auth = auth
        self.threepids = threepids

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(ThreepidAddBody)
        return await self.threepids.add(
            requester,
            uia_operation(request),
            body.uia_auth(),
            body.uia_params(),
            body.sid,
            body.client_secret,
        )


class ThreepidDeleteEndpoint:
    """POST /account/3pid/delete."""

    PATTERNS = client_patterns("/account/3pid/delete")

    def __init__(self, auth: Auth, threepids: AccountThreepidService) -> None:
        self.auth = auth
        self.threepids = threepids

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(ThreepidDeleteBody)
        return await self.threepids.delete(
            requester, body.medium, body.address, body.id_server
        )


class ThreepidBindEndpoint:
    """POST /account/3pid/bind: through the identity server."""

    PATTERNS = client_patterns("/account/3pid/bind", r0=False)

    def __init__(self, auth: Auth, threepids: AccountThreepidService) -> None:
        self.auth = auth
        self.threepids = threepids

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(ThreepidBindBody)
        return await self.threepids.bind(
            requester,
            body.id_server,
            body.id_access_token,
            body.sid,
            body.client_secret,
        )


class ThreepidUnbindEndpoint:
    """POST /account/3pid/unbind."""

    PATTERNS = client_patterns("/account/3pid/unbind", r0=False)

    def __init__(self, auth: Auth, threepids: AccountThreepidService) -> None:
        self.auth = auth
        self.threepids = threepids

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(ThreepidDeleteBody)
        return await self.threepids.unbind(
            requester, body.medium, body.address, body.id_server
        )
