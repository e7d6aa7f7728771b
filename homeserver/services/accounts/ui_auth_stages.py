"""The UIA stages this server offers: password and registration token.

Spec: client-server API, "Authentication types".
"""

from __future__ import annotations

from homeserver.errors import Codes, Forbidden
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.ui_auth import StageFailed
from homeserver.storage.stores.registration_tokens import RegistrationTokenStore
from homeserver.storage.stores.ui_auth import UiAuthSession
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

PASSWORD = "m.login.password"
DUMMY = "m.login.dummy"
REGISTRATION_TOKEN = "m.login.registration_token"


def identifier_user(identifier: object, user: object) -> str | None:
    """The user named by a login or auth body's ``identifier`` (an
    ``m.id.user`` one), else by its legacy ``user``."""
    if isinstance(identifier, dict):
        if identifier.get("type") != "m.id.user":
            return None
        user = identifier.get("user")
        return user if isinstance(user, str) and user else None
    return user if isinstance(user, str) and user else None


class PasswordStage:
    """m.login.password: the requester re-enters their own password."""

    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts

    async def check(
        self, auth: JsonDict, requester: Requester | None, session: UiAuthSession
    ) -> JsonDict:
        user = identifier_user(auth.get("identifier"), auth.get("user"))
        password = auth.get("password")
        if user is None or not isinstance(password, str):
            raise StageFailed(Codes.BAD_JSON, "Missing identifier or password")
        user_id = self.accounts.qualify(user)
        if await self.accounts.check_password(user_id, password) is None:
            raise StageFailed(Codes.FORBIDDEN, "Invalid username or password")
        if requester is not None and user_id != requester.user_id:
            # Right credentials, wrong person: 403, not another 401 round
            # (as Synapse does).
            raise Forbidden("Invalid auth")
        return {"password_user_id": user_id}

    async def on_session_ended(self, session: UiAuthSession, completed: bool) -> None:
        return None


class RegistrationTokenStage:
    """m.login.registration_token: a token an admin created."""

    def __init__(self, store: RegistrationTokenStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def check(
        self, auth: JsonDict, requester: Requester | None, session: UiAuthSession
    ) -> JsonDict:
        token = auth.get("token")
        if not isinstance(token, str) or not token:
            raise StageFailed(Codes.MISSING_PARAM, "Missing registration token")
        held = session.serverdict.get("registration_token")
        if held == token:
            return {}
        if not await self.store.reserve(token, self.clock.time_msec()):
            raise StageFailed(Codes.UNAUTHORIZED, "Invalid registration token")
        if held:
            await self.store.release(held, completed=False)
        return {"registration_token": token}

    async def on_session_ended(self, session: UiAuthSession, completed: bool) -> None:
        token = session.serverdict.get("registration_token")
        if token:
            await self.store.release(token, completed=completed)
