"""Admin services: registration tokens and shared-secret registration.

Compatible with Synapse's admin API (``/_synapse/admin/v1/registration_tokens``
and ``/_synapse/admin/v1/register``), so existing admin tools work.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from homeserver.errors import Codes, Forbidden, InvalidParam, MatrixError, NotFound
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.profile import ProfileService
from homeserver.services.accounts.sessions import SessionService
from homeserver.storage.stores.registration_tokens import (
    RegistrationToken,
    RegistrationTokenStore,
)
from homeserver.storage.stores.ui_auth import UiAuthStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.tokens import random_string

NONCE_LIFETIME_MS = 60_000
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")


def token_json(token: RegistrationToken) -> JsonDict:
    """The admin API shape of a registration token."""
    return {
        "token": token.token,
        "uses_allowed": token.uses_allowed,
        "pending": token.pending,
        "completed": token.completed,
        "expiry_time": token.expiry_time,
    }


def _optional_int(body: JsonDict, key: str, minimum: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParam(f"{key} must be an integer of at least {minimum}, or null")
    return value


class RegistrationTokenService:
    """Admins create, list, change and delete registration tokens."""

    def __init__(self, store: RegistrationTokenStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def list_tokens(self, valid: bool | None) -> JsonDict:
        """All tokens, or only the valid (or invalid) ones."""
        now = self.clock.time_msec()
        tokens = [
            t
            for t in await self.store.list_tokens()
            if valid is None or t.is_valid(now) == valid
        ]
        return {"registration_tokens": [token_json(t) for t in tokens]}

    async def get_token(self, token: str) -> JsonDict:
        """One token."""
        found = await self.store.get_token(token)
        if found is None:
            raise NotFound(f"No such registration token: {token}")
        return token_json(found)

    async def create_token(self, body: JsonDict) -> JsonDict:
        """A new token, named or random."""
        uses_allowed = _optional_int(body, "uses_allowed", 0)
        expiry_time = self._expiry_time(body)
        token = body.get("token")
        if token is not None:
            if not isinstance(token, str) or not _TOKEN_CHARS.match(token):
                raise InvalidParam(
                    "token must be 1-64 characters of A-Z a-z 0-9 . _ ~ -"
                )
            if not await self.store.insert_token(token, uses_allowed, expiry_time):
                raise InvalidParam(f"Token already exists: {token}")
        else:
            length = _optional_int(body, "length", 1) or 16
            if length > 64:
                raise InvalidParam("length must be at most 64")
            while True:
                token = random_string(length)
                if await self.store.insert_token(token, uses_allowed, expiry_time):
                    break
        return await self.get_token(token)

    async def update_token(self, token: str, body: JsonDict) -> JsonDict:
        """Change uses_allowed and/or expiry_time."""
        changes: dict[str, int | None] = {}
        if "uses_allowed" in body:
            changes["uses_allowed"] = _optional_int(body, "uses_allowed", 0)
        if "expiry_time" in body:
            changes["expiry_time"] = self._expiry_time(body)
        updated = await self.store.update_token(token, changes)
        if updated is None:
            raise NotFound(f"No such registration token: {token}")
        return token_json(updated)

    def _expiry_time(self, body: JsonDict) -> int | None:
        """The body's expiry_time, which must not be in the past (as in Synapse)."""
        expiry_time = _optional_int(body, "expiry_time", 0)
        if expiry_time is not None and expiry_time < self.clock.time_msec():
            raise InvalidParam("expiry_time must not be in the past")
        return expiry_time

    async def delete_token(self, token: str) -> JsonDict:
        """Delete a token."""
        if not await self.store.delete_token(token):
            raise NotFound(f"No such registration token: {token}")
        return {}


class SharedSecretRegistrationService:
    """Registration with an HMAC over a one-time nonce, keyed by the shared secret."""

    def __init__(
        self,
        *,
        secret: str | None,
        store: UiAuthStore,
        accounts: AccountService,
        sessions: SessionService,
        profiles: ProfileService,
        clock: Clock,
    ) -> None:
        self.secret = secret
        self.store = store
        self.accounts = accounts
        self.sessions = sessions
        self.profiles = profiles
        self.clock = clock

    def _require_secret(self) -> str:
        if not self.secret:
            raise MatrixError(
                400, "Shared secret registration is not enabled", Codes.UNKNOWN
            )
        return self.secret

    async def new_nonce(self) -> JsonDict:
        """GET /_synapse/admin/v1/register."""
        self._require_secret()
        nonce = random_string(32)
        await self.store.insert_nonce(nonce, self.clock.time_msec())
        return {"nonce": nonce}

    async def register(self, body: JsonDict, client_ip: str) -> JsonDict:
        """POST /_synapse/admin/v1/register."""
        secret = self._require_secret()
        fields: dict[str, Any] = {}
        for key in ("nonce", "username", "password", "mac"):
            value = body.get(key)
            if not isinstance(value, str) or not value:
                raise MatrixError(
                    400, f"{key} must be a non-empty string", Codes.BAD_JSON
                )
            fields[key] = value
        admin = body.get("admin", False)
        user_type = body.get("user_type")
        if not isinstance(admin, bool) or (
            user_type is not None and not isinstance(user_type, str)
        ):
            raise MatrixError(
                400, "admin must be a boolean, user_type a string", Codes.BAD_JSON
            )
        now = self.clock.time_msec()
        if not await self.store.consume_nonce(fields["nonce"], now - NONCE_LIFETIME_MS):
            raise MatrixError(400, "unrecognised nonce", Codes.UNKNOWN)
        parts = [
            fields["nonce"],
            fields["username"],
            fields["password"],
            "admin" if admin else "notadmin",
        ]
        if user_type:
            parts.append(user_type)
        want = hmac.new(
            secret.encode("utf-8"), "\x00".join(parts).encode("utf-8"), hashlib.sha1
        ).hexdigest()
        if not hmac.compare_digest(want, fields["mac"]):
            raise Forbidden("HMAC incorrect")
        user_id = await self.accounts.register(
            fields["username"], fields["password"], admin=admin, user_type=user_type
        )
        displayname = body.get("displayname")
        if isinstance(displayname, str) and displayname:
            await self.profiles.profiles.set_field(user_id, "displayname", displayname)
        session = await self.sessions.create_session(user_id, None, None, client_ip)
        return session.to_json(self.accounts.server_name)
