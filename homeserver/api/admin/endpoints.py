"""Admin API endpoints, compatible with Synapse's ``/_synapse/admin`` paths."""

from __future__ import annotations

from homeserver.api.admin.bodies import (
    NewRegistrationTokenBody,
    RegistrationTokenUpdateBody,
    SharedSecretRegisterBody,
)
from homeserver.api.http.auth import admin_of
from homeserver.api.http.request import ApiRequest
from homeserver.services.accounts.admin import (
    RegistrationTokenService,
    SharedSecretRegistrationService,
)
from homeserver.services.accounts.auth import Auth
from homeserver.types import JsonDict

ADMIN_V1 = "/_synapse/admin/v1"


class SharedSecretRegisterEndpoint:
    """GET (nonce) and POST /_synapse/admin/v1/register."""

    PATTERNS = [f"{ADMIN_V1}/register"]

    def __init__(self, service: SharedSecretRegistrationService) -> None:
        self.service = service

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        return await self.service.new_nonce()

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        self.service.check_enabled()
        body = request.parse(SharedSecretRegisterBody)
        return await self.service.register(body, request.client_ip)


class RegistrationTokensEndpoint:
    """GET /_synapse/admin/v1/registration_tokens."""

    PATTERNS = [f"{ADMIN_V1}/registration_tokens"]

    def __init__(self, auth: Auth, service: RegistrationTokenService) -> None:
        self.auth = auth
        self.service = service

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        valid = request.query_str("valid")
        return await self.service.list_tokens(
            None if valid is None else request.query_bool("valid")
        )


class NewRegistrationTokenEndpoint:
    """POST /_synapse/admin/v1/registration_tokens/new."""

    PATTERNS = [f"{ADMIN_V1}/registration_tokens/new"]

    def __init__(self, auth: Auth, service: RegistrationTokenService) -> None:
        self.auth = auth
        self.service = service

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        body = request.parse(NewRegistrationTokenBody, allow_empty=True)
        return await self.service.create_token(
            body.token, body.uses_allowed, body.expiry_time, body.length
        )


class RegistrationTokenEndpoint:
    """GET, PUT and DELETE /_synapse/admin/v1/registration_tokens/{token}."""

    PATTERNS = [f"{ADMIN_V1}/registration_tokens/{{token}}"]

    def __init__(self, auth: Auth, service: RegistrationTokenService) -> None:
        self.auth = auth
        self.service = service

    async def on_GET(self, request: ApiRequest, token: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.service.get_token(token)

    async def on_PUT(self, request: ApiRequest, token: str) -> JsonDict:
        await admin_of(self.auth, request)
        body = request.parse(RegistrationTokenUpdateBody)
        return await self.service.update_token(token, body.changes())

    async def on_DELETE(self, request: ApiRequest, token: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.service.delete_token(token)
