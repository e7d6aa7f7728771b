"""POST /login: password, one-time token and JWT logins; /login/get_token.

Spec: client-server API, "Login", "POST /_matrix/client/v1/login/get_token".
"""

from __future__ import annotations

from typing import Protocol

import jwt

from homeserver.config.model import AuthConfig, RateLimitConfig
from homeserver.errors import Codes, Forbidden, MatrixError
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.appservice_accounts import (
    APPSERVICE_LOGIN,
    appservice_of_token,
    check_in_namespace,
)
from homeserver.services.accounts.appservice_auth import (
    AppServiceIdentity,
    AppServices,
    NoAppServices,
)
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.policy import AccountPolicy, NoAccountPolicy
from homeserver.services.accounts.sessions import SessionService
from homeserver.services.accounts.threepid_port import AccountThreepids, NoThreepids
from homeserver.services.accounts.ui_auth import UiaOperation, UserInteractiveAuth
from homeserver.services.accounts.ui_auth_stages import PASSWORD, identifier_user
from homeserver.storage.stores.tokens import TokenStore
from homeserver.types import JsonDict, UserID
from homeserver.util.clock import Clock
from homeserver.util.ports import Port
from homeserver.util.ratelimit import Ratelimiter
from homeserver.util.tokens import hash_token, new_token

TOKEN = "m.login.token"
JWT_TYPES = ("m.login.jwt", "org.matrix.login.jwt")


class LoginRequest(Protocol):
    """What a login needs: a POST /login body (``LoginBody`` of
    ``api/client/bodies/accounts.py``, which has checked every type)."""

    @property
    def type(self) -> str: ...
    @property
    def identifier(self) -> JsonDict | None: ...
    @property
    def user(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def token(self) -> str | None: ...
    @property
    def device_id(self) -> str | None: ...
    @property
    def initial_device_display_name(self) -> str | None: ...
    @property
    def refresh_token(self) -> bool: ...
    def as_dict(self) -> JsonDict:
        """The whole body, unknown keys included (for plugin login types)."""
        ...


class LoginService:
    """Turns credentials into sessions."""

    def __init__(
        self,
        *,
        config: AuthConfig,
        rate_limits: RateLimitConfig,
        accounts: AccountService,
        sessions: SessionService,
        tokens: TokenStore,
        uia: UserInteractiveAuth,
        ratelimiter: Ratelimiter,
        clock: Clock,
        appservices: AppServices | None = None,
    ) -> None:
        self.config = config
        self.appservices = appservices or NoAppServices()
        self.rate_limits = rate_limits
        self.accounts = accounts
        self.sessions = sessions
        self.tokens = tokens
        self.uia = uia
        self.ratelimiter = ratelimiter
        self.clock = clock
        # Plugins: password providers, extra login types and a last check,
        # plugged in by the bind step.
        self.policy: Port[AccountPolicy] = Port(NoAccountPolicy())
        # Login by email address (m.id.thirdparty), plugged in by the bind step.
        self.threepids: Port[AccountThreepids] = Port(NoThreepids())

    def flows(self) -> list[JsonDict]:
        """GET /login: the login types offered."""
        flows: list[JsonDict] = [{"type": PASSWORD}]
        flows.append(
            {"type": TOKEN, "get_login_token": self.config.token_login.enabled}
        )
        if self.config.jwt.enabled:
            flows.extend({"type": t} for t in JWT_TYPES)
        flows.extend({"type": t} for t in self.policy.get().login_types())
        flows.append({"type": APPSERVICE_LOGIN})
        return flows

    async def login(
        self, body: LoginRequest, client_ip: str, access_token: str | None = None
    ) -> JsonDict:
        """Handle POST /login (``access_token``: the request's, which an
        application service's login carries).

        The whole body was checked before any credential is spent: a login
        token is one-time and a JWT login may create the account.
        """
        login_type = body.type
        if login_type == APPSERVICE_LOGIN:
            service = appservice_of_token(self.appservices, access_token)
            if service.rate_limited:
                await self._check_address(client_ip)
            user_id = await self._appservice_login(service, body)
        else:
            await self._check_address(client_ip)
            user_id = await self._login_user(body, client_ip)
        await self.policy.get().check_login(user_id, login_type, client_ip)
        session = await self.sessions.create_session(
            user_id,
            body.device_id,
            body.initial_device_display_name,
            client_ip,
            with_refresh_token=body.refresh_token,
        )
        return session.to_json(self.accounts.server_name)

    async def _check_address(self, client_ip: str) -> None:
        await self.ratelimiter.check(
            "login_address", client_ip, self.rate_limits.login_per_address
        )

    async def _appservice_login(
        self, service: AppServiceIdentity, body: LoginRequest
    ) -> str:
        user = identifier_user(body.identifier, body.user)
        if user is None:
            raise MatrixError(400, "Missing user identifier", Codes.BAD_JSON)
        user_id = self.accounts.qualify(user)
        check_in_namespace(service, user_id, status=403)
        await self.accounts.get_active_user(user_id)
        return user_id

    async def _login_user(self, body: LoginRequest, client_ip: str) -> str:
        login_type = body.type
        if login_type == PASSWORD:
            user_id = await self._password_login(body)
        elif login_type == TOKEN:
            user_id = await self._token_login(body)
        elif login_type in JWT_TYPES and self.config.jwt.enabled:
            user_id = await self._jwt_login(body)
        elif login_type in self.policy.get().login_types():
            user_id = await self._plugin_login(body, client_ip)
        else:
            raise MatrixError(400, f"Unknown login type {login_type}", Codes.UNKNOWN)
        return user_id

    async def _password_login(self, body: LoginRequest) -> str:
        user = identifier_user(body.identifier, body.user)
        password = body.password
        threepid = _threepid_of(body)
        if threepid is not None:
            if password is None:
                raise MatrixError(400, "Missing password", Codes.BAD_JSON)
            return await self._threepid_login(*threepid, password)
        if user is None:
            identifier = body.identifier
            if identifier is not None and identifier.get("type") != "m.id.user":
                raise MatrixError(400, "Unsupported identifier type", Codes.UNKNOWN)
            raise MatrixError(400, "Missing user identifier", Codes.BAD_JSON)
        if password is None:
            raise MatrixError(400, "Missing password", Codes.BAD_JSON)
        user_id = self.accounts.qualify(user)
        await self.ratelimiter.check(
            "login_account", user_id, self.rate_limits.login_per_account
        )
        failed = self.rate_limits.login_failed_attempts
        await self.ratelimiter.check("login_failed", user_id, failed, update=False)
        verdict = await self.policy.get().check_password(user_id, password)
        if verdict is True:
            # A password provider (LDAP, ...) vouches for the user.
            return await self._ensure_local_user(user_id)
        if verdict is False:
            await self.ratelimiter.record("login_failed", user_id, failed)
            raise Forbidden("Invalid username or password")
        info, right = await self.accounts.verify_password(user_id, password)
        if info is not None and info.deactivated:
            # Spec: M_USER_DEACTIVATED. Its password is gone, so this is
            # answered whatever password was given (as Synapse does).
            await self.ratelimiter.record("login_failed", user_id, failed)
            raise Forbidden("This account has been deactivated", Codes.USER_DEACTIVATED)
        if info is None or not right:
            await self.ratelimiter.record("login_failed", user_id, failed)
            raise Forbidden("Invalid username or password")
        if info.locked:
            raise MatrixError(401, "User account has been locked", Codes.USER_LOCKED)
        return info.user_id

    async def _threepid_login(self, medium: str, address: str, password: str) -> str:
        """m.id.thirdparty: the password of the user holding ``address``; an
        address nobody holds fails like a wrong password, after the same one
        hash verification (no way to find out which addresses are in use)."""
        failed = self.rate_limits.login_failed_attempts
        key = f"{medium}:{address.strip().lower()}"
        await self.ratelimiter.check(
            "login_account", key, self.rate_limits.login_per_account
        )
        await self.ratelimiter.check("login_failed", key, failed, update=False)
        user_id = await self.threepids.get().user_of(medium, address)
        if user_id is None:
            await self.accounts.hasher.verify_dummy(password)
            await self.ratelimiter.record("login_failed", key, failed)
            raise Forbidden("Invalid username or password")
        info = await self.accounts.check_password(user_id, password)
        if info is None:
            await self.ratelimiter.record("login_failed", key, failed)
            raise Forbidden("Invalid username or password")
        return info.user_id

    async def _token_login(self, body: LoginRequest) -> str:
        token = body.token
        if token is None:
            raise MatrixError(400, "Missing token", Codes.BAD_JSON)
        user_id = await self.tokens.consume_login_token(
            hash_token(token), self.clock.time_msec()
        )
        if user_id is None:
            raise Forbidden("Invalid login token")
        await self.accounts.get_active_user(user_id)
        return user_id

    async def _jwt_login(self, body: LoginRequest) -> str:
        token = body.token
        if token is None:
            raise MatrixError(400, "Missing token", Codes.BAD_JSON)
        config = self.config.jwt
        try:
            claims = jwt.decode(
                token,
                config.secret or "",
                algorithms=[config.algorithm],
                issuer=config.issuer,
                audience=config.audiences or None,
                options={"require": [config.subject_claim]},
            )
        except jwt.PyJWTError as exc:
            raise Forbidden(f"JWT validation failed: {exc}") from None
        subject = claims.get(config.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise Forbidden("JWT validation failed: bad subject")
        user_id = self.accounts.qualify(subject)
        if UserID.parse(user_id).domain != self.accounts.server_name:
            raise Forbidden("JWT subject is not a local user")
        if await self.accounts.users.get_user(user_id) is None:
            await self.accounts.register(UserID.parse(user_id).localpart, None)
        await self.accounts.get_active_user(user_id)
        return user_id

    async def _plugin_login(self, body: LoginRequest, client_ip: str) -> str:
        user_id = await self.policy.get().login(body.type, body.as_dict(), client_ip)
        return await self._ensure_local_user(user_id)

    async def _ensure_local_user(self, user_id: str) -> str:
        """A plugin logs in ``user_id``: it must be local; its account is
        made (without a password) on its first login."""
        try:
            parsed = UserID.parse(user_id)
        except MatrixError:
            raise Forbidden("A plugin named an invalid user ID") from None
        if parsed.domain != self.accounts.server_name:
            raise Forbidden("A plugin named a user of another server")
        if await self.accounts.users.get_user(user_id) is None:
            await self.accounts.register(parsed.localpart, None)
        await self.accounts.get_active_user(user_id)
        return user_id

    async def create_login_token(
        self,
        requester: Requester,
        operation: UiaOperation,
        auth: JsonDict | None,
        clientdict: JsonDict,
    ) -> JsonDict:
        """POST /login/get_token: a one-time token to log in another device.

        Args:
            requester: who asks.
            operation: the request, for UIA.
            auth: the body's ``auth`` object, if any.
            clientdict: the body's other parameters.
        """
        if not self.config.token_login.enabled:
            raise MatrixError(
                404, "Login token generation is disabled", Codes.UNRECOGNIZED
            )
        if self.config.token_login.require_ui_auth:
            result = await self.uia.authenticate(
                operation, auth, clientdict, [[PASSWORD]], requester
            )
            await self.uia.finish(result)
        token = new_token("chl")
        timeout = int(self.config.token_login.token_timeout)
        await self.tokens.insert_login_token(
            hash_token(token), requester.user_id, self.clock.time_msec() + timeout
        )
        return {"login_token": token, "expires_in_ms": timeout}


def _threepid_of(body: LoginRequest) -> tuple[str, str] | None:
    """The (medium, address) of an ``m.id.thirdparty`` identifier, or of the
    deprecated top-level ``medium`` and ``address``.

    Raises:
        MatrixError: 400 M_INVALID_PARAM for one without both strings.
    """
    identifier = body.identifier
    if identifier is not None and identifier.get("type") == "m.id.thirdparty":
        medium, address = identifier.get("medium"), identifier.get("address")
    elif identifier is None and "medium" in body.as_dict():
        medium, address = body.as_dict().get("medium"), body.as_dict().get("address")
    else:
        return None
    if not isinstance(medium, str) or not isinstance(address, str) or not address:
        raise MatrixError(
            400, "m.id.thirdparty needs a medium and an address", Codes.INVALID_PARAM
        )
    return medium, address
