"""Accounts: registration, passwords, deactivation.

Spec: client-server API, "Account registration and management".
"""

from __future__ import annotations

from homeserver.config.model import RegistrationConfig
from homeserver.errors import Codes, Forbidden, MatrixError
from homeserver.services.accounts.passwords import PasswordHasher
from homeserver.services.accounts.threepid_port import AccountThreepids, NoThreepids
from homeserver.signals import AccountDeactivated, Signal
from homeserver.storage.stores.devices import DeviceStore
from homeserver.storage.stores.tokens import TokenStore
from homeserver.storage.stores.users import UserAlreadyExists, UserInfo, UserStore
from homeserver.types import JsonDict, UserID, is_valid_localpart
from homeserver.util.clock import Clock
from homeserver.util.ports import Port

MAX_LOCALPART_LENGTH = 255


class AccountService:
    """Creates accounts and manages their passwords and lifecycle."""

    def __init__(
        self,
        *,
        server_name: str,
        config: RegistrationConfig,
        users: UserStore,
        devices: DeviceStore,
        tokens: TokenStore,
        hasher: PasswordHasher,
        clock: Clock,
        deactivated: Signal[AccountDeactivated] | None = None,
    ) -> None:
        self.server_name = server_name
        self.config = config
        self.users = users
        self.devices = devices
        self.tokens = tokens
        self.hasher = hasher
        self.clock = clock
        self.deactivated = deactivated
        # Unbinding addresses from identity servers (services/threepids).
        self.threepids: Port[AccountThreepids] = Port(NoThreepids())

    def user_id_for(self, localpart: str) -> str:
        """The full user ID of a local localpart."""
        return f"@{localpart}:{self.server_name}"

    def qualify(self, user: str) -> str:
        """Turn a login identifier (localpart or full ID) into a user ID."""
        if user.startswith("@"):
            parsed = UserID.parse(user)
            return f"@{parsed.localpart.lower()}:{parsed.domain}"
        return self.user_id_for(user.lower())

    async def check_username(self, localpart: str) -> str:
        """Validate a requested localpart and check it is free.

        Returns:
            The user ID it would have.

        Raises:
            MatrixError: 400 M_INVALID_USERNAME or M_USER_IN_USE.
        """
        if not localpart:
            raise MatrixError(400, "User ID cannot be empty", Codes.INVALID_USERNAME)
        if not is_valid_localpart(localpart):
            raise MatrixError(
                400,
                "User ID can only contain characters a-z, 0-9, or '=_-./+'",
                Codes.INVALID_USERNAME,
            )
        user_id = self.user_id_for(localpart)
        if len(user_id) > MAX_LOCALPART_LENGTH:
            raise MatrixError(400, "User ID is too long", Codes.INVALID_USERNAME)
        if await self.users.get_user(user_id) is not None:
            raise MatrixError(400, "User ID already taken.", Codes.USER_IN_USE)
        return user_id

    def check_password_strength(self, password: str) -> str:
        """Validate a new password: 400 M_WEAK_PASSWORD if too short."""
        if len(password) < self.config.password_min_length:
            raise MatrixError(
                400,
                f"Password must be at least {self.config.password_min_length} characters",
                Codes.WEAK_PASSWORD,
            )
        if len(password) > 512:
            raise MatrixError(400, "Password is too long", Codes.BAD_JSON)
        return password

    async def hash_new_password(self, password: str) -> str:
        """Check a new password's strength, then hash it."""
        return await self.hasher.hash(self.check_password_strength(password))

    async def register(
        self,
        localpart: str,
        password: str | None,
        admin: bool = False,
        user_type: str | None = None,
        *,
        password_hash: str | None = None,
    ) -> str:
        """Create an account; returns its user ID.

        Args:
            localpart: the requested localpart.
            password: the new password, or None for none (or for ``password_hash``).
            admin: make the account a server admin.
            user_type: Synapse's user type, if any.
            password_hash: a hash from ``hash_new_password``, used when
                ``password`` is None.

        Raises:
            MatrixError: 400 M_INVALID_USERNAME, M_USER_IN_USE or M_WEAK_PASSWORD.
        """
        user_id = await self.check_username(localpart)
        if password is not None:
            password_hash = await self.hash_new_password(password)
        try:
            await self.users.insert_user(
                user_id, password_hash, self.clock.time_msec(), admin, user_type
            )
        except UserAlreadyExists:
            raise MatrixError(
                400, "User ID already taken.", Codes.USER_IN_USE
            ) from None
        return user_id

    async def check_password(self, user_id: str, password: str) -> UserInfo | None:
        """The active account if ``password`` is right for it, else None."""
        user, right = await self.verify_password(user_id, password)
        return user if right and user is not None and not user.deactivated else None

    async def verify_password(
        self, user_id: str, password: str
    ) -> tuple[UserInfo | None, bool]:
        """The account (None if unknown) and whether ``password`` matches it.

        Exactly one hash verification is spent whatever the case: an unknown
        or deactivated account (whose hash is gone) is checked against a dummy
        hash, so timing does not reveal which accounts exist.
        """
        user = await self.users.get_user(user_id)
        stored = user.password_hash if user is not None else None
        right = await self.hasher.verify(password, stored)
        if right and stored and self.hasher.needs_rehash(stored):
            # An older scheme or cost (bcrypt imported from Synapse): now that
            # the password is known, store it the configured way.
            new_hash = await self.hasher.hash(password)
            await self.users.update_password_hash(user_id, new_hash)
        return user, right

    async def get_active_user(self, user_id: str) -> UserInfo:
        """The account, which must exist and be active (else 403)."""
        user = await self.users.get_user(user_id)
        if user is None:
            raise Forbidden("Unknown user")
        if user.deactivated:
            raise Forbidden("This account has been deactivated", Codes.USER_DEACTIVATED)
        return user

    async def change_password(
        self,
        user_id: str,
        new_password: str,
        keep_device_id: str | None,
        keep_token_hash: str | None,
        logout_devices: bool,
    ) -> None:
        """Set a new password; optionally log out every other device."""
        password_hash = await self.hasher.hash(
            self.check_password_strength(new_password)
        )
        await self.users.update_password_hash(user_id, password_hash)
        if logout_devices:
            await self.devices.delete_all_devices(
                user_id, except_device_id=keep_device_id
            )
            await self.tokens.delete_user_tokens(
                user_id, except_token_hash=keep_token_hash
            )

    async def deactivate(self, user_id: str, id_server: str | None = None) -> JsonDict:
        """Deactivate an account for good: no more logins, devices or tokens.
        First the addresses it bound are unbound from identity servers (on
        ``id_server``, or where each was bound), as Synapse.

        Raises:
            MatrixError: 400 when an identity server could not be asked; the
                account stays active.
        """
        unbound = await self.threepids.get().unbind_all(user_id, id_server)
        await self.users.deactivate_user(user_id)
        if self.deactivated is not None:
            self.deactivated.emit(AccountDeactivated(user_id))
        return {"id_server_unbind_result": "success" if unbound else "no-support"}
