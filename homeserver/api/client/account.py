"""whoami, password change and deactivation.

Spec: client-server API, "Account registration and management".
"""

from __future__ import annotations

from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.errors import BadJson
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.auth import Auth
from homeserver.services.accounts.ui_auth import UserInteractiveAuth
from homeserver.services.accounts.ui_auth_stages import PASSWORD
from homeserver.types import JsonDict


class WhoamiEndpoint:
    """GET /account/whoami."""

    PATTERNS = client_patterns("/account/whoami")

    def __init__(self, auth: Auth) -> None:
        self.auth = auth

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await self.auth.get_user_by_req(request)
        return {
            "user_id": requester.user_id,
            "device_id": requester.device_id,
            "is_guest": False,
        }


class PasswordEndpoint:
    """POST /account/password, behind UIA."""

    PATTERNS = client_patterns("/account/password")

    def __init__(
        self, auth: Auth, accounts: AccountService, uia: UserInteractiveAuth
    ) -> None:
        self.auth = auth
        self.accounts = accounts
        self.uia = uia

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await self.auth.get_user_by_req(request)
        body = request.json()
        new_password = body.get("new_password")
        logout_devices = body.get("logout_devices", True)
        if not isinstance(logout_devices, bool):
            raise BadJson("logout_devices must be a boolean")
        self.accounts.check_password_strength(new_password)
        # The new password must not be stored in the UIA session.
        clientdict = {k: v for k, v in body.items() if k != "new_password"}
        result = await self.uia.authenticate(
            request, clientdict, [[PASSWORD]], requester
        )
        await self.accounts.change_password(
            requester.user_id,
            str(new_password),
            requester.device_id,
            requester.token_hash,
            logout_devices,
        )
        await self.uia.finish(result)
        return {}


class DeactivateEndpoint:
    """POST /account/deactivate, behind UIA."""

    PATTERNS = client_patterns("/account/deactivate")

    def __init__(
        self, auth: Auth, accounts: AccountService, uia: UserInteractiveAuth
    ) -> None:
        self.auth = auth
        self.accounts = accounts
        self.uia = uia

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await self.auth.get_user_by_req(request)
        body = request.json(allow_empty=True)
        if not isinstance(body.get("erase", False), bool):
            raise BadJson("erase must be a boolean")
        result = await self.uia.authenticate(request, body, [[PASSWORD]], requester)
        response = await self.accounts.deactivate(requester.user_id)
        await self.uia.finish(result)
        return response
