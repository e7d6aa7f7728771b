"""Profiles: display names, avatars and custom fields.

Spec: client-server API, "Profiles".
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from homeserver.errors import (
    BadJson,
    Codes,
    Forbidden,
    InvalidParam,
    MatrixError,
    NotFound,
)
from homeserver.services.accounts.auth import Requester
from homeserver.signals import ProfileChanged, Signal
from homeserver.storage.stores.profiles import ProfileStore
from homeserver.storage.stores.users import UserStore
from homeserver.types import JsonDict, UserID
from homeserver.util.ports import Port

MAX_DISPLAYNAME_LEN = 256
MAX_AVATAR_URL_LEN = 1000
MAX_KEY_LEN = 255
_STRING_FIELD_LIMITS = {
    "displayname": MAX_DISPLAYNAME_LEN,
    "avatar_url": MAX_AVATAR_URL_LEN,
}
MAX_PROFILE_BYTES = 65536
# The Common Namespaced Identifier Grammar, as leniently as Synapse reads it.
_KEY_GRAMMAR = re.compile(r"^[a-z][a-z0-9_.-]*\Z")


class RemoteProfilePort(Protocol):
    """Another server's users' profiles (federation query/profile)."""

    async def profile(self, user_id: str, field: str | None) -> JsonDict:
        """The profile, or just ``field`` of it, from the user's server."""
        ...


class NoRemoteProfiles:
    """Federation off: other servers' users have no profile we can see."""

    async def profile(self, user_id: str, field: str | None) -> JsonDict:
        raise NotFound("Profile lookup over federation is not available")


class MemberEventsPort(Protocol):
    """The rooms domain: a local user's profile into their member events."""

    async def propagate(self, user_id: str) -> None:
        """Update the user's member event in every room they are joined to."""
        ...


class UnknownUserQuery(Protocol):
    """Who may create a local user on demand (an application service)."""

    async def query_user(self, user_id: str) -> bool:
        """Whether the user exists now (after asking, if it did not)."""


class NoUnknownUserQuery:
    """No application services bound: nobody creates users on demand."""

    async def query_user(self, user_id: str) -> bool:
        return False


class NoMemberEvents:
    """No rooms domain bound: profiles change, member events do not."""

    async def propagate(self, user_id: str) -> None:
        return None


class ProfileService:
    """Reads and updates local users' profiles.

    Args:
        server_name: this server (other servers' users are asked remotely).
        profiles: the profile store.
        users: local accounts.
        changed: emitted when a local user sets or removes a field.
    """

    def __init__(
        self,
        server_name: str,
        profiles: ProfileStore,
        users: UserStore,
        changed: Signal[ProfileChanged],
    ) -> None:
        self.server_name = server_name
        self.profiles = profiles
        self.users = users
        self.changed = changed
        # Asks another server (federation plugs itself in).
        self.remote: Port[RemoteProfilePort] = Port(NoRemoteProfiles())
        # Updates member events after a displayname/avatar change (rooms).
        self.member_events: Port[MemberEventsPort] = Port(NoMemberEvents())
        # Asks the application service of an unknown user's namespace.
        self.unknown_users: Port[UnknownUserQuery] = Port(NoUnknownUserQuery())

    async def get_profile(self, user_id: str) -> JsonDict:
        """GET /profile/{userId}."""
        parsed = UserID.parse(user_id)
        if parsed.domain != self.server_name:
            return await self.remote.get().profile(user_id, None)
        profile = await self.profiles.get_profile(user_id)
        if profile is None and await self.unknown_users.get().query_user(user_id):
            profile = await self.profiles.get_profile(user_id)
        if profile is None:
            raise NotFound("Profile was not found")
        return profile

    async def get_field(self, user_id: str, key: str) -> JsonDict:
        """GET /profile/{userId}/{keyName}.

        An unset ``displayname`` or ``avatar_url`` of a user who exists is
        200 ``{}``, as Synapse answers (the spec says 404; clients rely on
        Synapse's answer); an unset custom field is 404.
        """
        if UserID.parse(user_id).domain != self.server_name:
            profile = await self.remote.get().profile(user_id, key)
        else:
            profile = await self.get_profile(user_id)
        if key not in profile:
            if key in _STRING_FIELD_LIMITS:
                return {}
            raise NotFound("The requested profile field is not set")
        return {key: profile[key]}

    async def set_field(
        self, requester: Requester, user_id: str, key: str, value: Any
    ) -> JsonDict:
        """PUT /profile/{userId}/{keyName}.

        Args:
            requester: who asks (the user, or an admin).
            user_id: whose profile.
            key: the field.
            value: its new value: for ``displayname`` and ``avatar_url`` a
                string or null (their bodies' models check it), for a custom
                field any JSON value but null.
        """
        self._check_own(requester, user_id)
        self._check_key(key)
        if value is None and key not in _STRING_FIELD_LIMITS:
            raise BadJson(f"{key} must not be null")
        profile = await self.get_profile(user_id)
        profile[key] = value
        if len(json.dumps(profile).encode()) > MAX_PROFILE_BYTES:
            raise MatrixError(
                400, "Profile would be too large", Codes.PROFILE_TOO_LARGE
            )
        await self.profiles.set_field(user_id, key, value)
        await self._changed(requester, user_id, key, value)
        return {}

    async def delete_field(
        self, requester: Requester, user_id: str, key: str
    ) -> JsonDict:
        """DELETE /profile/{userId}/{keyName}."""
        self._check_own(requester, user_id)
        self._check_key(key)
        await self.profiles.set_field(user_id, key, None)
        await self._changed(requester, user_id, key, None)
        return {}

    async def _changed(
        self, requester: Requester, user_id: str, key: str, value: Any
    ) -> None:
        """A display name or avatar goes into the user's member events (the
        request waits for them, as Synapse's does; not a shadow-banned
        user's own change, as Synapse); then the signal."""
        if key in _STRING_FIELD_LIMITS and not requester.shadow_banned:
            await self.member_events.get().propagate(user_id)
        self.changed.emit(ProfileChanged(user_id=user_id, field=key, value=value))

    def _check_own(self, requester: Requester, user_id: str) -> None:
        UserID.parse(user_id)
        if requester.user_id != user_id and not requester.is_admin:
            raise Forbidden("You cannot change another user's profile")

    @staticmethod
    def _check_key(key: str) -> None:
        """Spec: 400 M_KEY_TOO_LARGE past 255 bytes, else M_INVALID_PARAM."""
        if len(key.encode()) > MAX_KEY_LEN:
            raise MatrixError(400, "Profile key is too long", Codes.KEY_TOO_LARGE)
        if not _KEY_GRAMMAR.match(key):
            raise InvalidParam("Invalid profile key")
