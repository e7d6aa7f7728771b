"""Who is asking: access tokens to Requesters.

Spec: client-server API, "Client Authentication" (access tokens, soft logout).
"""

from __future__ import annotations

import attrs

from homeserver.config.sections.limits import RateLimit
from homeserver.errors import Codes, Forbidden, MatrixError
from homeserver.services.accounts.appservice_auth import (
    AppServiceAuth,
    AppServiceIdentity,
)
from homeserver.storage.stores.devices import DeviceStore
from homeserver.storage.stores.tokens import AccessTokenInfo, TokenStore
from homeserver.types import UserID
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock
from homeserver.util.ratelimit import Ratelimiter
from homeserver.util.tokens import hash_token


@attrs.frozen
class Requester:
    """An authenticated user and device.

    Args:
        app_service_id: the application service making the request (its
            ``as_token``), acting as ``user``.
        app_service_rate_limited: the AS's ``rate_limited``: false exempts
            it from rate limits.
        is_guest: a guest account (registered with ``kind=guest``).
        shadow_banned: shadow-banned by an admin: what the user sends to
            others looks sent but goes nowhere.
    """

    user: UserID
    device_id: str
    token_hash: str
    is_admin: bool = False
    app_service_id: str | None = None
    is_guest: bool = False
    app_service_rate_limited: bool = True
    shadow_banned: bool = False
    # The user ID as a string, made once: a /sync pass asks for it a dozen
    # times, for each of the members one message wakes.
    user_id: str = attrs.field(
        init=False,
        eq=False,
        repr=False,
        default=attrs.Factory(lambda self: self.user.to_string(), takes_self=True),
    )

    @property
    def ratelimit_exempt(self) -> bool:
        """Whether per-user rate limits (``rate_limiting.*``) spare this
        requester: the one place that says so. Server admins and application
        services registered with ``rate_limited: false`` are exempt, as in
        Synapse."""
        if self.app_service_id is not None and not self.app_service_rate_limited:
            return True
        return self.is_admin


def unknown_token(
    msg: str = "Unknown access token", soft_logout: bool = False
) -> MatrixError:
    """401 M_UNKNOWN_TOKEN, with ``soft_logout`` where the session can be resumed."""
    return MatrixError(
        401, msg, Codes.UNKNOWN_TOKEN, additional={"soft_logout": soft_logout}
    )


# Device "last seen" is written at most this often per device.
LAST_SEEN_INTERVAL_MS = 60_000
# Requesters kept for the tokens in use (emptied when full).
MAX_REQUESTERS = 50_000
# A device's last User-Agent is kept up to this many characters.
MAX_USER_AGENT = 512


class Auth:
    """Authenticates access tokens, noting when each device was last seen."""

    def __init__(
        self,
        tokens: TokenStore,
        devices: DeviceStore,
        clock: Clock,
        appservices: AppServiceAuth | None = None,
        *,
        ratelimiter: Ratelimiter | None = None,
        admin_failures: RateLimit | None = None,
    ) -> None:
        self.tokens = tokens
        self.devices = devices
        self.clock = clock
        self.appservices = appservices
        # Refused admin API requests per client address (None: unlimited).
        self.ratelimiter = ratelimiter
        self.admin_failures = admin_failures
        self._last_seen: dict[tuple[str, str], int] = {}
        # token hash -> (the token's info, the requester made of it): while
        # the token cache answers with the same info, the same (immutable)
        # requester serves, not a new one with its user ID parsed again.
        self._requesters: dict[str, tuple[AccessTokenInfo, Requester]] = {}

    def _note_seen(self, requester: Requester, ip: str, user_agent: str | None) -> None:
        key = (requester.user_id, requester.device_id)
        now = self.clock.time_msec()
        if now - self._last_seen.get(key, 0) < LAST_SEEN_INTERVAL_MS:
            return
        if len(self._last_seen) > 100_000:
            self._last_seen.clear()
        self._last_seen[key] = now
        run_in_background(
            "update_last_seen",
            self.devices.update_last_seen(
                *key, now, ip, user_agent[:MAX_USER_AGENT] if user_agent else None
            ),
        )

    async def get_user_by_access_token(
        self,
        token: str,
        client_ip: str | None = None,
        allow_expired: bool = False,
        user_agent: str | None = None,
        *,
        as_user_id: str | None = None,
        as_device_id: str | None = None,
    ) -> Requester:
        """The requester an access token stands for.

        Args:
            token: the access token.
            client_ip: where the request came from: noted (at most once a
                minute) as the device's last-seen address; None to note nothing.
            allow_expired: accept an expired (refreshable) access token, so
                that a client can still log out with it.
            user_agent: the request's User-Agent, noted with ``client_ip``
                (GET /admin/whois shows it).
            as_user_id: with an application service's ``as_token``: the
                ``user_id`` it masquerades as (default: its sender).
            as_device_id: with an ``as_token``: the ``device_id`` to act with.

        Raises:
            MatrixError: 401 M_UNKNOWN_TOKEN (with ``soft_logout`` for an
                expired one); for an application service, what
                ``AppServiceAuth.acting_as`` raises.
        """
        service = self.appservice_of(token)
        if service is not None and self.appservices is not None:
            user, device_id = await self.appservices.acting_as(
                service, as_user_id, as_device_id
            )
            return Requester(
                user,
                device_id,
                hash_token(token),
                app_service_id=service.id,
                app_service_rate_limited=service.rate_limited,
            )
        info = await self.tokens.get_access_token_cached(
            hash_token(token), self.clock.time_msec()
        )
        if info is None:
            raise unknown_token()
        if info.deactivated:
            raise unknown_token("This account has been deactivated")
        if (
            not allow_expired
            and info.valid_until_ts is not None
            and info.valid_until_ts < self.clock.time_msec()
        ):
            raise unknown_token("Access token has expired", soft_logout=True)
        if info.locked and not allow_expired:
            # As Synapse: a locked account may still log out, nothing else.
            raise MatrixError(
                401,
                "User account has been locked",
                Codes.USER_LOCKED,
                additional={"soft_logout": True},
            )
        if not info.used and info.refresh_token_hash:
            run_in_background(
                "mark_token_used", self.tokens.mark_access_token_used(info)
            )
        requester = self._requester_of(info)
        if client_ip is not None:
            self._note_seen(requester, client_ip, user_agent)
        return requester

    def _requester_of(self, info: AccessTokenInfo) -> Requester:
        """The requester of a valid token's ``info``."""
        made = self._requesters.get(info.token_hash)
        if made is not None and made[0] is info:
            return made[1]
        requester = Requester(
            UserID.parse(info.user_id),
            info.device_id,
            info.token_hash,
            info.admin,
            is_guest=info.is_guest,
            shadow_banned=info.shadow_banned,
        )
        if len(self._requesters) >= MAX_REQUESTERS:
            self._requesters.clear()
        self._requesters[info.token_hash] = (info, requester)
        return requester

    def appservice_of(self, token: str) -> AppServiceIdentity | None:
        """The application service whose ``as_token`` ``token`` is."""
        if self.appservices is None:
            return None
        return self.appservices.appservices.by_token(token)

    @staticmethod
    def require_admin(requester: Requester) -> None:
        """403 M_FORBIDDEN unless ``requester`` is a server admin."""
        if not requester.is_admin:
            raise Forbidden("You are not a server admin")

    async def check_admin_failures(self, client_ip: str) -> None:
        """429 M_LIMIT_EXCEEDED while ``client_ip`` is past its refused admin
        API requests (``rate_limiting.admin_failed_attempts``)."""
        if self.ratelimiter is not None and self.admin_failures is not None:
            await self.ratelimiter.check(
                "admin_failed", client_ip, self.admin_failures, update=False
            )

    async def note_admin_failure(self, client_ip: str) -> None:
        """An admin API request from ``client_ip`` was refused (401 or 403)."""
        if self.ratelimiter is not None and self.admin_failures is not None:
            await self.ratelimiter.record(
                "admin_failed", client_ip, self.admin_failures
            )
