"""Bodies of login, registration, account management, devices and profiles.

Spec: client-server API, "Login", "Account registration and management",
"User-Interactive Authentication API", "Device management", "Profiles".
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field

from homeserver.api.http.body import NO_NUL, JsonObject, RequestBody, Str
from homeserver.errors import Codes
from homeserver.services.accounts.profile import (
    MAX_AVATAR_URL_LEN,
    MAX_DISPLAYNAME_LEN,
)
from homeserver.types import JsonDict

DeviceId = Annotated[str, Field(min_length=1, max_length=255), NO_NUL]
"""A client-chosen device ID: 1 to 255 characters."""
MAX_DEVICE_DISPLAY_NAME = 100


class AuthData(RequestBody):
    """The ``auth`` object of a UIA round: the stage's type and the session.

    The stage's own fields (``identifier``, ``password``, ``token``...) are
    kept as sent and checked by the stage, whose failure is a 401 UIA answer
    rather than a 400.
    """

    model_config = ConfigDict(extra="allow")

    type: Str | None = None
    session: Str | None = None

    def as_dict(self) -> JsonDict:
        """The object as sent (``type`` and ``session`` only if given)."""
        return self.model_dump(exclude_unset=True)


class UiaBody(RequestBody):
    """A body of an operation behind user-interactive auth."""

    auth: AuthData | None = None

    def uia_auth(self) -> JsonDict | None:
        """The ``auth`` object, if the round has one."""
        return self.auth.as_dict() if self.auth is not None else None

    def uia_params(self, *secret: str) -> JsonDict:
        """The parameters given, for the UIA session to keep: all but ``auth``
        and the ``secret`` fields, which must never be stored."""
        return self.model_dump(
            exclude_unset=True, exclude={"auth", *secret}, by_alias=True
        )


class LoginBody(RequestBody):
    """POST /login. Which credentials are needed depends on ``type``; unknown
    keys are kept for the login types of plugins."""

    model_config = ConfigDict(strict=True, frozen=True, extra="allow")

    type: Str
    identifier: JsonObject | None = None
    user: Str | None = None  # deprecated: before ``identifier``
    password: Str | None = None
    token: Str | None = None
    device_id: DeviceId | None = None
    initial_device_display_name: Str | None = None
    refresh_token: bool = False

    def as_dict(self) -> JsonDict:
        """The whole body, unknown keys included."""
        return self.model_dump(exclude_unset=True)


class RefreshBody(RequestBody):
    """POST /refresh."""

    refresh_token: Str


class RegisterBody(UiaBody):
    """POST /register: one UIA round; later rounds may leave the rest out."""

    type: Str | None = None  # m.login.application_service (spec, AS API)
    username: Str | None = None
    password: Str | None = None
    device_id: DeviceId | None = None
    initial_device_display_name: Str | None = None
    inhibit_login: bool | None = None
    refresh_token: bool | None = None
    guest_access_token: Str | None = None


class GuestRegisterBody(RequestBody):
    """POST /register?kind=guest: every other parameter is ignored (spec)."""

    initial_device_display_name: Str | None = None


class PasswordBody(UiaBody):
    """POST /account/password."""

    new_password: Str
    logout_devices: bool = True


class DeactivateBody(UiaBody):
    """POST /account/deactivate (``erase``: also mark the user erased, as
    Synapse; ``id_server``: where to unbind the user's addresses, else where
    each was bound)."""

    erase: bool = False
    id_server: Str | None = None


class DeviceUpdateBody(RequestBody):
    """PUT /devices/{deviceId}: a new display name, if ``display_name`` is given."""

    display_name: (
        Annotated[str, Field(max_length=MAX_DEVICE_DISPLAY_NAME), NO_NUL] | None
    ) = None


class DeleteDevicesBody(UiaBody):
    """POST /delete_devices."""

    devices: list[Str]


class DisplaynameBody(RequestBody):
    """PUT /profile/{userId}/displayname (null clears it). A bad value is
    M_BAD_JSON, as the spec says for this endpoint."""

    field_errcodes: ClassVar[dict[str, str]] = {"displayname": Codes.BAD_JSON}

    displayname: Annotated[str, Field(max_length=MAX_DISPLAYNAME_LEN), NO_NUL] | None


class AvatarUrlBody(RequestBody):
    """PUT /profile/{userId}/avatar_url (null clears it). A bad value is
    M_BAD_JSON, as the spec says for this endpoint."""

    field_errcodes: ClassVar[dict[str, str]] = {"avatar_url": Codes.BAD_JSON}

    avatar_url: Annotated[str, Field(max_length=MAX_AVATAR_URL_LEN), NO_NUL] | None


PROFILE_FIELD_BODIES: dict[str, type[RequestBody]] = {
    "displayname": DisplaynameBody,
    "avatar_url": AvatarUrlBody,
}
"""The profile fields with a schema of their own; any other (custom) field
takes any JSON value but null."""
