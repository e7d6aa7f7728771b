"""The user admin API: list, query, create and modify accounts.

Synapse's ``docs/admin_api/user_admin_api.md`` ("Query User Account",
"Create or modify account", "List Accounts"), with its response shapes, so
that synadm and synapse-admin work unchanged. Deactivation, passwords,
shadow-bans and rooms are in ``user_admin_actions.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from homeserver.errors import Codes, MatrixError, NotFound
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.profile import ProfileService
from homeserver.storage.stores.threepids import ThreepidStore, normalise_address
from homeserver.storage.stores.user_admin import (
    AdminUserRecord,
    MediaUsageQuery,
    UserAdminStore,
    UserQuery,
)
from homeserver.types import JsonDict, UserID
from homeserver.util.clock import Clock

# Synapse's user types (its config may add more; ours does not).
USER_TYPES = ("bot", "support")


class ThreepidLike(Protocol):
    """A medium and an address."""

    @property
    def medium(self) -> str: ...
    @property
    def address(self) -> str: ...


class UserChanges(Protocol):
    """A PUT /_synapse/admin/v2/users/{userId} body (``UserUpsertBody`` of
    ``api/admin/user_bodies.py``, which has checked every type)."""

    @property
    def given(self) -> frozenset[str]: ...
    @property
    def password(self) -> str | None: ...
    @property
    def logout_devices(self) -> bool: ...
    @property
    def displayname(self) -> str | None: ...
    @property
    def avatar_url(self) -> str | None: ...
    @property
    def threepids(self) -> Sequence[ThreepidLike] | None: ...
    @property
    def admin(self) -> bool: ...
    @property
    def deactivated(self) -> bool: ...
    @property
    def locked(self) -> bool: ...
    @property
    def user_type(self) -> str | None: ...


class Deactivator(Protocol):
    """Deactivates and reactivates accounts (``UserAdminActions``)."""

    async def deactivate(self, user_id: str, erase: bool) -> JsonDict: ...


def list_entry(user: AdminUserRecord) -> JsonDict:
    """One user of GET /_synapse/admin/v2/users (creation_ts in ms)."""
    return {
        "name": user.user_id,
        "is_guest": user.is_guest,
        "admin": user.admin,
        "user_type": user.user_type,
        "deactivated": user.deactivated,
        "erased": user.erased,
        "shadow_banned": user.shadow_banned,
        "displayname": user.displayname,
        "avatar_url": user.avatar_url,
        "creation_ts": user.created_ts,
        "last_seen_ts": user.last_seen_ts,
        "locked": user.locked,
    }


def local_user(server_name: str, user_id: str, what: str) -> str:
    """``user_id``, which must be a user ID of this server.

    Raises:
        MatrixError: 400 M_INVALID_PARAM if malformed, 400 M_UNKNOWN if
            another server's (Synapse's "Can only look up local users").
    """
    if UserID.parse(user_id).domain != server_name:
        raise MatrixError(400, f"Can only {what} local users", Codes.UNKNOWN)
    return user_id


class UserAdmin:
    """Lists, shows, creates and changes accounts for server admins."""

    def __init__(
        self,
        *,
        server_name: str,
        store: UserAdminStore,
        accounts: AccountService,
        profiles: ProfileService,
        threepids: ThreepidStore,
        deactivator: Deactivator,
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.accounts = accounts
        self.profiles = profiles
        self.threepids = threepids
        self.deactivator = deactivator
        self.clock = clock

    async def list_users(self, query: UserQuery) -> JsonDict:
        """GET /_synapse/admin/v2/users (and v3)."""
        users, total = await self.store.list_users(query)
        body: JsonDict = {"users": [list_entry(u) for u in users], "total": total}
        if query.start + query.limit < total:
            body["next_token"] = str(query.start + len(users))
        return body

    async def media_usage(self, query: MediaUsageQuery) -> JsonDict:
        """GET /_synapse/admin/v1/statistics/users/media."""
        users, total = await self.store.media_usage(query)
        body: JsonDict = {"users": [attrs.asdict(u) for u in users], "total": total}
        if query.start + query.limit < total:
            body["next_token"] = query.start + len(users)
        return body

    async def get_user(self, user_id: str) -> JsonDict:
        """GET /_synapse/admin/v2/users/{userId}."""
        local_user(self.server_name, user_id, "look up")
        user = await self.store.get_user(user_id)
        if user is None:
            raise NotFound("User not found")
        return await self._details(user)

    async def _details(self, user: AdminUserRecord) -> JsonDict:
        """Synapse's query-user shape (creation_ts in seconds there)."""
        threepids = await self.threepids.get_threepids(user.user_id)
        return {
            "name": user.user_id,
            "displayname": user.displayname,
            "threepids": [
                {
                    "medium": t.medium,
                    "address": t.address,
                    "added_at": t.added_at,
                    "validated_at": t.validated_at,
                }
                for t in threepids
            ],
            "avatar_url": user.avatar_url,
            "is_guest": user.is_guest,
            "admin": user.admin,
            "deactivated": user.deactivated,
            "erased": user.erased,
            "shadow_banned": user.shadow_banned,
            "creation_ts": user.created_ts // 1000,
            "last_seen_ts": user.last_seen_ts,
            "appservice_id": None,
            "consent_server_notice_sent": None,
            "consent_version": None,
            "consent_ts": None,
            "external_ids": [],
            "user_type": user.user_type,
            "locked": user.locked,
            "suspended": False,
        }

    async def upsert_user(
        self, requester: Requester, user_id: str, changes: UserChanges
    ) -> tuple[int, JsonDict]:
        """PUT /_synapse/admin/v2/users/{userId}: 201 and the new account, or
        200 and the changed one. Everything is checked before anything is
        written.
        """
        local_user(self.server_name, user_id, "create or modify")
        if changes.user_type is not None and changes.user_type not in USER_TYPES:
            raise MatrixError(400, "Invalid user type", Codes.UNKNOWN)
        if changes.deactivated and changes.locked:
            raise MatrixError(
                400, "An user can't be deactivated and locked", Codes.UNKNOWN
            )
        await self._check_threepids_free(user_id, changes.threepids)
        user = await self.store.get_user(user_id)
        if user is None:
            await self._create(requester, user_id, changes)
            code = 201
        else:
            await self._modify(requester, user, changes)
            code = 200
        updated = await self.store.get_user(user_id)
        assert updated is not None
        return code, await self._details(updated)

    async def _check_threepids_free(
        self, user_id: str, threepids: Sequence[ThreepidLike] | None
    ) -> None:
        for t in threepids or ():
            found = await self.threepids.get_threepid(
                t.medium, normalise_address(t.medium, t.address)
            )
            if found is not None and found.user_id != user_id:
                raise MatrixError(
                    400, "Third-party ID already in use", Codes.THREEPID_IN_USE
                )

    async def _create(
        self, requester: Requester, user_id: str, changes: UserChanges
    ) -> None:
        password_hash = None
        if changes.password is not None:
            # No strength policy: an admin sets what they set (as Synapse).
            password_hash = await self.accounts.hasher.hash(changes.password)
        await self.accounts.register(
            UserID.parse(user_id).localpart,
            None,
            admin=changes.admin,
            user_type=changes.user_type,
            password_hash=password_hash,
        )
        for key in ("displayname", "avatar_url"):
            if getattr(changes, key):
                await self.profiles.set_field(
                    requester, user_id, key, getattr(changes, key)
                )
        await self._replace_threepids(user_id, changes.threepids)
        if changes.locked:
            await self.store.set_flag(user_id, "locked", True)

    async def _modify(
        self, requester: Requester, user: AdminUserRecord, changes: UserChanges
    ) -> None:
        user_id, given = user.user_id, changes.given
        if "admin" in given and changes.admin != user.admin:
            if user_id == requester.user_id and not changes.admin:
                raise MatrixError(400, "You may not demote yourself.", Codes.UNKNOWN)
        for key in ("displayname", "avatar_url"):
            if key in given:
                value = getattr(changes, key) or None
                await self.profiles.set_field(requester, user_id, key, value)
        await self._replace_threepids(user_id, changes.threepids)
        if "admin" in given and changes.admin != user.admin:
            await self.store.set_flag(user_id, "admin", changes.admin)
        if changes.password is not None:
            await self._set_password(user_id, changes.password, changes.logout_devices)
        if "deactivated" in given:
            if changes.deactivated and not user.deactivated:
                await self.deactivator.deactivate(user_id, erase=False)
            elif not changes.deactivated and user.deactivated:
                await self.store.reactivate(user_id)
        if "locked" in given and changes.locked != user.locked:
            await self.store.set_flag(user_id, "locked", changes.locked)
        if "user_type" in given:
            await self.store.set_user_type(user_id, changes.user_type)

    async def _set_password(self, user_id: str, password: str, logout: bool) -> None:
        password_hash = await self.accounts.hasher.hash(password)
        await self.accounts.users.update_password_hash(user_id, password_hash)
        if logout:
            await self.accounts.devices.delete_all_devices(user_id)
            await self.accounts.tokens.delete_user_tokens(user_id)

    async def _replace_threepids(
        self, user_id: str, threepids: Sequence[ThreepidLike] | None
    ) -> None:
        """The user's third-party IDs become exactly ``threepids`` (None:
        unchanged); new ones count as validated (an admin vouches)."""
        if threepids is None:
            return
        wanted = {(t.medium, normalise_address(t.medium, t.address)) for t in threepids}
        current = {
            (t.medium, t.address) for t in await self.threepids.get_threepids(user_id)
        }
        for medium, address in sorted(current - wanted):
            await self.threepids.delete_threepid(user_id, medium, address)
        now = self.clock.time_msec()
        for medium, address in sorted(wanted - current):
            await self.threepids.insert_threepid(
                user_id, medium, address, validated_at=now, now=now
            )
