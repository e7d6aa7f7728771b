"""Admin services: registration tokens and shared-secret registration.

Compatible with Synapse's admin API (``/_synapse/admin/v1/registration_tokens``
and ``/_synapse/admin/v1/register``), so existing admin tools work.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Protocol

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


def token_json(token: RegistrationToken) -> JsonDict:
    """The admin API shape of a registration token."""
    return {
        "token": token.token,
        "uses_allowed": token.uses_allowed,
        "pending": token.pending,
        "completed": token.completed,
        "expiry_time": token.expiry_time,
    }


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

    async def create_token(
        self,
        token: str | None,
        uses_allowed: int | None,
        expiry_time: int | None,
        length: int | None = None,
    ) -> JsonDict:
        """A new token, named or random.

        Args:
            token: its name (1 to 64 characters of A-Z a-z 0-9 . _ ~ -), or
                None for a random one of ``length`` characters (16 if None).
            uses_allowed: how many registrations it allows; None: unlimited.
            expiry_time: when it expires (ms since the epoch, not in the
                past); None: never.
            length: at most 64.

        Raises:
            InvalidParam: the token exists, or ``expiry_time`` is past.
        """
        self._check_expiry_time(expiry_time)
        if token is not None:
            if not await self.store.insert_token(token, uses_allowed, expiry_time):
                raise InvalidParam(f"Token already exists: {token}")
        else:
            while True:
                token = random_string(length or 16)
                if await self.store.insert_token(token, uses_allowed, expiry_time):
                    break
        return await self.get_token(token)

    async def update_token(
        self, token: str, changes: Mapping[str, int | None]
    ) -> JsonDict:
        """Change ``uses_allowed`` and/or ``expiry_time`` (the keys of
        ``changes``; None: no limit)."""
        if "expiry_time" in changes:
            self._check_expiry_time(changes["expiry_time"])
        updated = await self.store.update_token(token, dict(changes))
        if updated is None:
            raise NotFound(f"No such registration token: {token}")
        return token_json(updated)

    def _check_expiry_time(self, expiry_time: int | None) -> None:
        """An expiry time must not be in the past (as in Synapse)."""
        if expiry_time is not None and expiry_time < self.clock.time_msec():
            raise InvalidParam("expiry_time must not be in the past")

    async def delete_token(self, token: str) -> JsonDict:
        """Delete a token."""
        if not await self.store.delete_token(token):
            raise NotFound(f"No such registration token: {token}")
        return {}


class SharedSecretRequest(Protocol):
    """A shared-secret registration (``SharedSecretRegisterBody`` of
    ``api/admin/bodies.py``, which has checked every type)."""

    @property
    def nonce(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def mac(self) -> str: ...
    @property
    def admin(self) -> bool: ...
    @property
    def user_type(self) -> str | None: ...
    @property
    def displayname(self) -> str | None: ...


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

    def check_enabled(self) -> None:
        """400 M_UNKNOWN unless shared-secret registration is configured
        (asked before the body is read)."""
        self._require_secret()

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

    async def register(self, request: SharedSecretRequest, client_ip: str) -> JsonDict:
        """POST /_synapse/admin/v1/register."""
        secret = self._require_secret()
        now = self.clock.time_msec()
        if not await self.store.consume_nonce(request.nonce, now - NONCE_LIFETIME_MS):
            raise MatrixError(400, "unrecognised nonce", Codes.UNKNOWN)
        parts = [
            request.nonce,
            request.username,
            request.password,
            "admin" if request.admin else "notadmin",
        ]
        if request.user_type:
            parts.append(request.user_type)
        want = hmac.new(
            secret.encode("utf-8"), "\x00".join(parts).encode("utf-8"), hashlib.sha1
        ).hexdigest()
        if not hmac.compare_digest(want, request.mac):
            raise Forbidden("HMAC incorrect")
        user_id = await self.accounts.register(
            request.username,
            request.password,
            admin=request.admin,
            user_type=request.user_type,
        )
        if request.displayname:
            await self.profiles.profiles.set_field(
                user_id, "displayname", request.displayname
            )
        session = await self.sessions.create_session(user_id, None, None, client_ip)
        return session.to_json(self.accounts.server_name)
