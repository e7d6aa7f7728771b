"""Guest accounts: registered without credentials, upgraded later.

Spec: client-server API, "Guest Access" (the module) and "Account
registration" (``kind=guest``; upgrading by registering with
``guest_access_token`` and the guest's own localpart as ``username``). Which
endpoints a guest may call is decided at the API edge (``allow_guest`` of
``api/http/auth.requester_of``), and joining rooms by the membership service.
Behind ``registration.allow_guest_access`` (off by default, as in Synapse).
"""

from __future__ import annotations

import secrets

from homeserver.errors import Codes, Forbidden, MatrixError
from homeserver.services.accounts.auth import Auth
from homeserver.services.accounts.sessions import SessionService
from homeserver.storage.stores.users import UserAlreadyExists, UserStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

GUEST_ACCESS_DISABLED = "Guest access is disabled"


def is_guest_localpart(localpart: str) -> bool:
    """Numeric localparts are reserved for guests (as in Synapse)."""
    return localpart.isascii() and localpart.isdigit()


class GuestAccounts:
    """Creates guest accounts and checks and performs their upgrades."""

    def __init__(
        self,
        *,
        server_name: str,
        enabled: bool,
        users: UserStore,
        sessions: SessionService,
        auth: Auth,
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.enabled = enabled
        self.users = users
        self.sessions = sessions
        self.auth = auth
        self.clock = clock

    def check_enabled(self) -> None:
        """403 M_GUEST_ACCESS_FORBIDDEN unless guest access is on."""
        if not self.enabled:
            raise Forbidden(GUEST_ACCESS_DISABLED, Codes.GUEST_ACCESS_FORBIDDEN)

    async def register_guest(
        self, device_display_name: str | None, client_ip: str
    ) -> JsonDict:
        """A new guest account (a numeric localpart, its own display name)
        and its first session: the /register answer."""
        self.check_enabled()
        user_id = await self._insert_guest()
        session = await self.sessions.create_session(
            user_id, None, device_display_name, client_ip
        )
        return session.to_json(self.server_name)

    async def _insert_guest(self) -> str:
        for _ in range(10):
            localpart = str(secrets.randbelow(9 * 10**11) + 10**11)
            user_id = f"@{localpart}:{self.server_name}"
            try:
                await self.users.insert_user(
                    user_id, None, self.clock.time_msec(), is_guest=True
                )
            except UserAlreadyExists:
                continue
            return user_id
        raise MatrixError(500, "Unable to find a suitable guest user ID")

    async def check_upgrade(self, guest_access_token: str, localpart: str) -> str:
        """The user ID a registration with ``guest_access_token`` upgrades:
        the token must be a guest's, and ``localpart`` that guest's own.

        Raises:
            MatrixError: 401 for an unknown token; 403 M_FORBIDDEN otherwise.
        """
        requester = await self.auth.get_user_by_access_token(guest_access_token)
        if not requester.is_guest or requester.user.localpart != localpart:
            raise Forbidden(
                "Cannot register taken user ID without valid guest "
                "credentials for that user."
            )
        return requester.user_id

    async def upgrade(self, user_id: str, password_hash: str) -> None:
        """Make the guest ``user_id`` a full account with this password.

        Raises:
            MatrixError: 400 M_USER_IN_USE if it is no longer a guest.
        """
        if not await self.users.upgrade_guest(user_id, password_hash):
            raise MatrixError(400, "User ID already taken.", Codes.USER_IN_USE)
