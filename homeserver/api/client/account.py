"""whoami, password change and deactivation.

Spec: client-server API, "Account registration and management".
"""

from __future__ import annotations

from homeserver.api.client.bodies.accounts import DeactivateBody, PasswordBody
from homeserver.api.http.auth import requester_of, uia_operation
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.auth import Auth
from homeserver.services.accounts.ui_auth import UserInteractiveAuth
from homeserver.services.accounts.ui_auth_stages import PASSWORD
from homeserver.services.accounts.user_admin_actions import UserAdminActions
from homeserver.services.threepids.password_reset import PasswordResetService
from homeserver.types import JsonDict


class WhoamiEndpoint:
    """GET /account/whoami."""

    PATTERNS = client_patterns("/account/whoami")

    def __init__(self, auth: Auth) -> None:
        self.auth = auth

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        body: JsonDict = {"user_id": requester.user_id, "is_guest": requester.is_guest}
        # An application service acting without a device has none to show.
        if requester.device_id:
            body["device_id"] = requester.device_id
        return body


class PasswordEndpoint:
    """POST /account/password, behind UIA: with an access token the user's
    own password; without one, a password reset by email
    (m.login.email.identity)."""

    PATTERNS = client_patterns("/account/password")

    def __init__(
        self,
        auth: Auth,
        accounts: AccountService,
        uia: UserInteractiveAuth,
        password_reset: PasswordResetService,
    ) -> None:
        self.auth = auth
        self.accounts = accounts
        self.uia = uia
        self.password_reset = password_reset

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        if request.access_token() is None and self.password_reset.enabled:
            reset = request.parse(PasswordBody)
            return await self.password_reset.reset(
                uia_operation(request),
                reset.uia_auth(),
                reset.uia_params("new_password"),
                reset.new_password,
                reset.logout_devices,
            )
        requester = await requester_of(self.auth, request)
        body = request.parse(PasswordBody)
        self.accounts.check_password_strength(body.new_password)
        result = await self.uia.authenticate(
            uia_operation(request),
            body.uia_auth(),
            # The new password must not be stored in the UIA session.
            body.uia_params("new_password"),
            [[PASSWORD]],
            requester,
        )
        await self.accounts.change_password(
            requester.user_id,
            body.new_password,
            requester.device_id,
            requester.token_hash,
            body.logout_devices,
        )
        await self.uia.finish(result)
        return {}


class DeactivateEndpoint:
    """POST /account/deactivate, behind UIA."""

    PATTERNS = client_patterns("/account/deactivate")

    def __init__(
        self, auth: Auth, deactivation: UserAdminActions, uia: UserInteractiveAuth
    ) -> None:
        self.auth = auth
        self.deactivation = deactivation
        self.uia = uia

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(DeactivateBody, allow_empty=True)
        result = await self.uia.authenticate(
            uia_operation(request),
            body.uia_auth(),
            body.uia_params(),
            [[PASSWORD]],
            requester,
        )
        response = await self.deactivation.deactivate(
            requester.user_id, body.erase, body.id_server
        )
        await self.uia.finish(result)
        return response
