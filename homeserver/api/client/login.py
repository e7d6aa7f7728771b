"""Login, logout, token refresh and login-token minting.

Spec: client-server API, "Login", "Logout", "Refreshing access tokens".
"""

from __future__ import annotations

from homeserver.api.client.bodies.accounts import LoginBody, RefreshBody, UiaBody
from homeserver.api.http.auth import requester_of, uia_operation
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.accounts.login import LoginService
from homeserver.services.accounts.sessions import SessionService
from homeserver.types import JsonDict


class LoginEndpoint:
    """GET and POST /login."""

    PATTERNS = client_patterns("/login")

    def __init__(self, login: LoginService) -> None:
        self.login = login

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        return {"flows": self.login.flows()}

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        return await self.login.login(
            request.parse(LoginBody), request.client_ip, request.access_token()
        )


class LogoutEndpoint:
    """POST /logout."""

    PATTERNS = client_patterns("/logout")

    def __init__(self, auth: Auth, sessions: SessionService) -> None:
        self.auth = auth
        self.sessions = sessions

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_expired=True)
        await self.sessions.logout(requester)
        return {}


class LogoutAllEndpoint:
    """POST /logout/all."""

    PATTERNS = client_patterns("/logout/all")

    def __init__(self, auth: Auth, sessions: SessionService) -> None:
        self.auth = auth
        self.sessions = sessions

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_expired=True)
        await self.sessions.logout_all(requester)
        return {}


class RefreshEndpoint:
    """POST /refresh."""

    PATTERNS = client_patterns("/refresh", r0=False, v1=True)

    def __init__(self, sessions: SessionService) -> None:
        self.sessions = sessions

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        body = request.parse(RefreshBody)
        return await self.sessions.refresh(body.refresh_token)


class LoginTokenEndpoint:
    """POST /_matrix/client/v1/login/get_token."""

    PATTERNS = client_patterns("/login/get_token", r0=False, v3=False, v1=True)

    def __init__(self, auth: Auth, login: LoginService) -> None:
        self.auth = auth
        self.login = login

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(UiaBody, allow_empty=True)
        return await self.login.create_login_token(
            requester, uia_operation(request), body.uia_auth(), body.uia_params()
        )
