"""Registration endpoints.

Spec: client-server API, "Account registration".
"""

from __future__ import annotations

from homeserver.api.client.bodies.accounts import GuestRegisterBody, RegisterBody
from homeserver.api.http.auth import uia_operation
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.appservice_accounts import APPSERVICE_LOGIN
from homeserver.services.accounts.registration import RegistrationService
from homeserver.types import JsonDict


class RegisterEndpoint:
    """POST /register."""

    PATTERNS = client_patterns("/register")

    def __init__(self, registration: RegistrationService) -> None:
        self.registration = registration

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        kind = request.query_str("kind", "user") or "user"
        as_token = request.access_token()
        if kind == "user" and as_token is not None:
            # An application service registering a user of its namespace
            # (whether or not registration is open).
            body = request.parse(RegisterBody)
            if body.type == APPSERVICE_LOGIN:
                return await self.registration.register_appservice(
                    as_token, body, request.client_ip
                )
        self.registration.check_open(kind)
        if kind == "guest":
            guest = request.parse(GuestRegisterBody, allow_empty=True)
            return await self.registration.register_guest(
                guest.initial_device_display_name, request.client_ip
            )
        body = request.parse(RegisterBody)
        return await self.registration.register(
            body, request.client_ip, uia_operation(request)
        )


class RegisterAvailableEndpoint:
    """GET /register/available."""

    PATTERNS = client_patterns("/register/available")

    def __init__(self, registration: RegistrationService) -> None:
        self.registration = registration

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        username = request.query_str("username", required=True) or ""
        return await self.registration.check_available(username, request.client_ip)


class RegistrationTokenValidityEndpoint:
    """GET /_matrix/client/v1/register/m.login.registration_token/validity."""

    PATTERNS = client_patterns(
        "/register/m.login.registration_token/validity", r0=False, v3=False, v1=True
    )

    def __init__(self, registration: RegistrationService) -> None:
        self.registration = registration

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        token = request.query_str("token", required=True) or ""
        return await self.registration.token_validity(token, request.client_ip)
