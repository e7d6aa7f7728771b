"""POST /register: open registration behind user-interactive auth.

Spec: client-server API, "Account registration".
"""

from __future__ import annotations

from typing import Protocol

from homeserver.config.model import RateLimitConfig, RegistrationConfig
from homeserver.errors import Codes, Forbidden, MatrixError
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.appservice_accounts import (
    appservice_of_token,
    check_not_exclusive,
    register_appservice_user,
)
from homeserver.services.accounts.appservice_auth import AppServices, NoAppServices
from homeserver.services.accounts.guests import GuestAccounts, is_guest_localpart
from homeserver.services.accounts.policy import AccountPolicy, NoAccountPolicy
from homeserver.services.accounts.sessions import SessionService
from homeserver.services.accounts.threepid_port import AccountThreepids, NoThreepids
from homeserver.services.accounts.ui_auth import (
    UiaOperation,
    UiAuthResult,
    UserInteractiveAuth,
)
from homeserver.services.accounts.ui_auth_stages import DUMMY, REGISTRATION_TOKEN
from homeserver.storage.stores.registration_tokens import RegistrationTokenStore
from homeserver.storage.stores.ui_auth import UiAuthSession
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.ports import Port
from homeserver.util.ratelimit import Ratelimiter
from homeserver.util.tokens import random_string

# What a registration's ended UIA session keeps: the user it registered.
_REGISTERED = "registered_user_id"
# The guest a registration upgrades (checked when its token was given).
_UPGRADES = "upgrade_user_id"
# The UIA stage proving an email address, and where it keeps the address
# (services/threepids/stage.py).
EMAIL_IDENTITY = "m.login.email.identity"
_THREEPID = "threepid"


class RegistrationRequest(Protocol):
    """One POST /register round (``RegisterBody`` of
    ``api/client/bodies/accounts.py``, which has checked every type)."""

    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def guest_access_token(self) -> str | None: ...

    def uia_auth(self) -> JsonDict | None:
        """The round's ``auth`` object, if any."""
        ...

    def uia_params(self, *secret: str) -> JsonDict:
        """The parameters given, less ``auth`` and the ``secret`` fields."""
        ...


class RegistrationService:
    """Runs the registration flow: checks, UIA, account, first session."""

    def __init__(
        self,
        *,
        config: RegistrationConfig,
        rate_limits: RateLimitConfig,
        accounts: AccountService,
        sessions: SessionService,
        uia: UserInteractiveAuth,
        registration_tokens: RegistrationTokenStore,
        guests: GuestAccounts,
        ratelimiter: Ratelimiter,
        clock: Clock,
        appservices: AppServices | None = None,
    ) -> None:
        self.config = config
        self.appservices = appservices or NoAppServices()
        self.guests = guests
        self.rate_limits = rate_limits
        self.accounts = accounts
        self.sessions = sessions
        self.uia = uia
        self.registration_tokens = registration_tokens
        self.ratelimiter = ratelimiter
        self.clock = clock
        # Plugins' chatly_check_registration, plugged in by the bind step.
        self.policy: Port[AccountPolicy] = Port(NoAccountPolicy())
        # Users' email addresses, plugged in by the bind step.
        self.threepids: Port[AccountThreepids] = Port(NoThreepids())

    def flows(self) -> list[list[str]]:
        """The UIA flows registration offers: with ``registration.email``
        ``required`` every flow proves an address, with ``optional`` the
        flows without one are offered too (as Synapse's
        registrations_require_3pid and its optional email)."""
        base = [REGISTRATION_TOKEN] if self.config.registration_requires_token else []
        plain = base or [DUMMY]
        if self.config.email == "required":
            return [[*base, EMAIL_IDENTITY]]
        if self.config.email == "optional":
            return [plain, [*base, EMAIL_IDENTITY]]
        return [plain]

    def _check_enabled(self) -> None:
        if not self.config.enable_registration:
            raise Forbidden("Registration has been disabled")

    def check_open(self, kind: str) -> None:
        """Whether registering an account of ``kind`` is possible at all (asked
        before the body is read).

        Raises:
            MatrixError: 403 for guests unless ``allow_guest_access``, or with
                registration disabled; 400 M_INVALID_PARAM for an unknown kind.
        """
        if kind == "guest":
            self.guests.check_enabled()
            return
        if kind != "user":
            raise MatrixError(400, "Invalid kind", Codes.INVALID_PARAM)
        self._check_enabled()

    async def register(
        self, body: RegistrationRequest, client_ip: str, operation: UiaOperation
    ) -> JsonDict:
        """Handle one POST /register request (one UIA round), once
        ``check_open`` has passed.

        The parameters of the first round are kept in the UIA session, so the
        last round (the one that completes UIA) may carry ``auth`` alone.
        """
        self._check_enabled()
        ended = await self.uia.ended_session(operation, body.uia_auth())
        if ended is not None:
            return await self._repeat(ended, body, client_ip)
        # Only finished registrations count (as in Synapse): one sign-up takes
        # several UIA rounds, which must not use up the client's allowance.
        await self.ratelimiter.check(
            "register_address",
            client_ip,
            self.rate_limits.registration_per_address,
            update=False,
        )
        # The UIA session keeps only a hash of the password (as Synapse does),
        # never the password itself.
        # Nor the guest access token of an upgrade.
        clientdict = body.uia_params("password", "guest_access_token")
        server_data: JsonDict = {}
        if body.uia_auth() is None:
            # The first round: plugins may refuse before any UIA stage.
            username = body.username.lower() if body.username is not None else None
            await self.policy.get().check_registration(username, client_ip, False)
        if body.username is not None:
            # Clients let people type "Alice"; user IDs are lower case (as Synapse).
            clientdict["username"] = username = body.username.lower()
            if body.guest_access_token is not None:
                server_data[_UPGRADES] = await self.guests.check_upgrade(
                    body.guest_access_token, username
                )
            else:
                _check_not_guest_localpart(username)
                user_id = await self.accounts.check_username(username)
                check_not_exclusive(self.appservices, user_id)
        if body.password is not None:
            server_data["password_hash"] = await self.accounts.hash_new_password(
                body.password
            )
        result = await self.uia.authenticate(
            operation,
            body.uia_auth(),
            clientdict,
            self.flows(),
            server_data=server_data or None,
        )
        return await self._register(result.clientdict, result, client_ip)

    async def register_appservice(
        self, as_token: str | None, body: RegistrationRequest, client_ip: str
    ) -> JsonDict:
        """POST /register with ``type: m.login.application_service``: the AS
        creates a user of its namespace, without UIA and whether or not
        registration is open; a session unless ``inhibit_login``."""
        service = appservice_of_token(self.appservices, as_token)
        user_id = await register_appservice_user(
            self.accounts, self.appservices, service, body.username
        )
        return await self._login(user_id, body.uia_params("password"), client_ip)

    async def _register(
        self, params: JsonDict, result: UiAuthResult, client_ip: str
    ) -> JsonDict:
        """Create the account of a completed UIA, and its first session unless
        ``inhibit_login``; ``params`` are every round's, validated when sent."""
        localpart = params.get("username") or await self._generate_localpart()
        password_hash = result.serverdict.get("password_hash")
        if password_hash is None:
            raise MatrixError(400, "Missing password", Codes.MISSING_PARAM)
        threepid = result.serverdict.get(_THREEPID)
        if isinstance(threepid, dict) and await self.threepids.get().user_of(
            threepid["medium"], threepid["address"]
        ):
            raise MatrixError(400, "Email is already in use", Codes.THREEPID_IN_USE)
        upgrade = result.serverdict.get(_UPGRADES)
        if upgrade is not None:
            await self.guests.upgrade(str(upgrade), password_hash)
            user_id = str(upgrade)
        else:
            user_id = await self.accounts.register(
                str(localpart), None, password_hash=password_hash
            )
        if isinstance(threepid, dict):
            await self.threepids.get().add_registered(
                user_id,
                threepid["medium"],
                threepid["address"],
                int(threepid["validated_at"]),
            )
        await self.ratelimiter.record(
            "register_address", client_ip, self.rate_limits.registration_per_address
        )
        # The session is kept, so that repeating this request (a client that
        # lost the answer) registers nothing new and gets the same account.
        await self.uia.finish(result, succeeded=True, outcome={_REGISTERED: user_id})
        return await self._login(user_id, params, client_ip)

    async def _repeat(
        self, ended: UiAuthSession, body: RegistrationRequest, client_ip: str
    ) -> JsonDict:
        """A repeat of a registration that completed in the UIA session
        ``ended``: the same account again (and a login, as Synapse does).

        Raises:
            MatrixError: 400 if the repeat asks for another username.
        """
        user_id = str(ended.serverdict[_REGISTERED])
        username = body.username
        if (
            username is not None
            and self.accounts.user_id_for(username.lower()) != user_id
        ):
            raise MatrixError(
                400, "This auth session registered another user", Codes.INVALID_PARAM
            )
        params = {**ended.clientdict, **body.uia_params("password")}
        return await self._login(user_id, params, client_ip)

    async def _login(self, user_id: str, params: JsonDict, client_ip: str) -> JsonDict:
        """The answer to a registration: a new session unless ``inhibit_login``."""
        if params.get("inhibit_login"):
            return {"user_id": user_id, "home_server": self.accounts.server_name}
        session = await self.sessions.create_session(
            user_id,
            params.get("device_id"),
            params.get("initial_device_display_name"),
            client_ip,
            with_refresh_token=bool(params.get("refresh_token")),
        )
        return session.to_json(self.accounts.server_name)

    async def _generate_localpart(self) -> str:
        for _ in range(10):
            candidate = "u" + random_string(12).lower()
            if (
                await self.accounts.users.get_user(self.accounts.user_id_for(candidate))
                is None
            ):
                return candidate
        raise MatrixError(500, "Could not allocate a user ID")

    async def register_guest(
        self, device_display_name: str | None, client_ip: str
    ) -> JsonDict:
        """POST /register?kind=guest: a guest account and its session."""
        await self.ratelimiter.check(
            "register_address",
            client_ip,
            self.rate_limits.registration_per_address,
            update=False,
        )
        await self.policy.get().check_registration(None, client_ip, True)
        answer = await self.guests.register_guest(device_display_name, client_ip)
        await self.ratelimiter.record(
            "register_address", client_ip, self.rate_limits.registration_per_address
        )
        return answer

    async def check_available(self, username: str, client_ip: str) -> JsonDict:
        """GET /register/available."""
        self._check_enabled()
        await self.ratelimiter.check(
            "register_available",
            client_ip,
            self.rate_limits.registration_per_address,
        )
        _check_not_guest_localpart(username)
        user_id = await self.accounts.check_username(username)
        check_not_exclusive(self.appservices, user_id)
        return {"available": True}

    async def token_validity(self, token: str, client_ip: str) -> JsonDict:
        """GET /register/m.login.registration_token/validity."""
        self._check_enabled()
        await self.ratelimiter.check(
            "registration_token_validity",
            client_ip,
            self.rate_limits.registration_per_address,
        )
        found = await self.registration_tokens.get_token(token)
        return {"valid": bool(found and found.is_valid(self.clock.time_msec()))}


def _check_not_guest_localpart(username: str) -> None:
    """400 M_INVALID_USERNAME for a numeric localpart: those are guests'."""
    if is_guest_localpart(username):
        raise MatrixError(
            400,
            "Numeric user IDs are reserved for guest users.",
            Codes.INVALID_USERNAME,
        )
