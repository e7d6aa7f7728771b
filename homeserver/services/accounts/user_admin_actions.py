"""The user admin API's actions on one account: deactivate (and erase),
reset the password, grant or revoke admin, shadow-ban, and the user's rooms.

Synapse's ``docs/admin_api/user_admin_api.md`` ("Deactivate Account",
"Reset password", "... server administrator", "Controlling whether a user is
shadow-banned", "List joined rooms of a user", "List room memberships").
"""

from __future__ import annotations

from typing import Protocol

from homeserver.errors import Codes, MatrixError, NotFound
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.user_admin import local_user
from homeserver.storage.stores.account_data import AccountDataStore
from homeserver.storage.stores.pushers import PusherStore
from homeserver.storage.stores.threepids import ThreepidStore
from homeserver.storage.stores.user_admin import UserAdminStore
from homeserver.types import JsonDict
from homeserver.util.tokens import hash_token, new_token, random_string

# The device ID of a token an admin made with "login as user" (it has no
# devices row, so the user does not see it among their devices).
PUPPET_DEVICE_PREFIX = "ADMIN_LOGIN_"


class UserRooms(Protocol):
    """A user's rooms (the rooms domain's ``AdminMemberships``)."""

    async def memberships(self, user_id: str) -> dict[str, str]: ...
    async def joined_rooms(self, user_id: str) -> list[str]: ...
    async def leave_all(self, user_id: str) -> int: ...


class UserAdminActions:
    """What an admin does to one account."""

    def __init__(
        self,
        *,
        server_name: str,
        store: UserAdminStore,
        accounts: AccountService,
        threepids: ThreepidStore,
        rooms: UserRooms,
        pushers: PusherStore,
        account_data: AccountDataStore,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.accounts = accounts
        self.threepids = threepids
        self.rooms = rooms
        self.pushers = pushers
        self.account_data = account_data

    async def _existing(self, user_id: str, what: str) -> str:
        """A local user that exists (else 400 or 404)."""
        local_user(self.server_name, user_id, what)
        if await self.store.get_user(user_id) is None:
            raise NotFound("User not found")
        return user_id

    async def deactivate(
        self, user_id: str, erase: bool, id_server: str | None = None
    ) -> JsonDict:
        """Deactivate an account, for an admin (POST
        /_synapse/admin/v1/deactivate/{userId}) or its owner (POST
        /account/deactivate): no more logins, devices, tokens, keys, pushers,
        third-party IDs, account data or rooms (it leaves them all); the
        profile is cleared; with ``erase`` the user is also marked erased, so
        that users who join its rooms later see its events redacted.

        Args:
            id_server: where to unbind its addresses (else where each was
                bound)."""
        await self._existing(user_id, "deactivate")
        # First: it unbinds the addresses from identity servers, and fails
        # (400, nothing changed) when one cannot be asked.
        result = await self.accounts.deactivate(user_id, id_server)
        for threepid in await self.threepids.get_threepids(user_id):
            await self.threepids.delete_threepid(
                user_id, threepid.medium, threepid.address
            )
        # The leave events carry the (now cleared) profile, as Synapse's do.
        await self.rooms.leave_all(user_id)
        await self.account_data.delete_all_of_user(user_id)
        if erase:
            # The profile went with the deactivation; erased is the mark
            # that event serving honours.
            await self.store.set_flag(user_id, "erased", True)
        return result

    async def reset_password(
        self, user_id: str, new_password: str, logout_devices: bool
    ) -> JsonDict:
        """POST /_synapse/admin/v1/reset_password/{userId}."""
        await self._existing(user_id, "reset the password of")
        await self.accounts.change_password(
            user_id, new_password, None, None, logout_devices
        )
        return {}

    async def is_admin(self, user_id: str) -> JsonDict:
        """GET /_synapse/admin/v1/users/{userId}/admin."""
        local_user(self.server_name, user_id, "get admin status of")
        user = await self.store.get_user(user_id)
        if user is None:
            raise NotFound("User not found")
        return {"admin": user.admin}

    async def set_admin(
        self, requester: Requester, user_id: str, admin: bool
    ) -> JsonDict:
        """PUT /_synapse/admin/v1/users/{userId}/admin."""
        await self._existing(user_id, "set admin status of")
        if user_id == requester.user_id and not admin:
            raise MatrixError(400, "You may not demote yourself.", Codes.UNKNOWN)
        await self.store.set_flag(user_id, "admin", admin)
        return {}

    async def shadow_ban(self, user_id: str, banned: bool) -> JsonDict:
        """POST (ban) and DELETE (lift) /_synapse/admin/v1/users/{userId}/shadow_ban."""
        local_user(self.server_name, user_id, "shadow-ban")
        if await self.store.get_user(user_id) is None:
            raise NotFound("User not found")
        await self.store.set_flag(user_id, "shadow_banned", banned)
        return {}

    async def joined_rooms(self, user_id: str) -> JsonDict:
        """GET /_synapse/admin/v1/users/{userId}/joined_rooms."""
        rooms = await self.rooms.joined_rooms(user_id)
        return {"joined_rooms": rooms, "total": len(rooms)}

    async def memberships(self, user_id: str) -> JsonDict:
        """GET /_synapse/admin/v1/users/{userId}/memberships."""
        return {"memberships": await self.rooms.memberships(user_id)}

    async def list_pushers(self, user_id: str) -> JsonDict:
        """GET /_synapse/admin/v1/users/{userId}/pushers (the client shape)."""
        await self._existing(user_id, "look up")
        pushers = [
            p.client_json() for p in await self.pushers.get_pushers_by_user(user_id)
        ]
        return {"pushers": pushers, "total": len(pushers)}

    async def username_available(self, username: str) -> JsonDict:
        """GET /_synapse/admin/v1/username_available?username=: 400
        M_USER_IN_USE or M_INVALID_USERNAME unless it is free."""
        await self.accounts.check_username(username)
        return {"available": True}

    async def login_as(
        self, requester: Requester, user_id: str, valid_until_ms: int | None
    ) -> JsonDict:
        """POST /_synapse/admin/v1/users/{userId}/login: an access token of
        the user's (as Synapse's puppet tokens: no device of its own, not
        shown among the user's devices; valid until ``valid_until_ms`` if
        given)."""
        await self._existing(user_id, "log in as")
        if user_id == requester.user_id:
            raise MatrixError(
                400, "Cannot use admin API to login as self", Codes.UNKNOWN
            )
        token = new_token("cht")
        await self.accounts.tokens.insert_access_token(
            hash_token(token),
            user_id,
            f"{PUPPET_DEVICE_PREFIX}{random_string(10)}",
            self.accounts.clock.time_msec(),
            valid_until_ms,
        )
        return {"access_token": token}

    async def get_account_data(self, user_id: str) -> JsonDict:
        """GET /_synapse/admin/v1/users/{userId}/accountdata."""
        await self._existing(user_id, "look up")
        return {"account_data": await self.account_data.get_all_of_user(user_id)}
