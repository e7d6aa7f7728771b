"""Bodies of the user admin API (Synapse's ``docs/admin_api/user_admin_api.md``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from homeserver.api.http.body import (
    NO_NUL,
    JsonObject,
    NonEmptyStr,
    NonNegativeInt,
    RequestBody,
    Str,
)

Password = Annotated[str, Field(max_length=512), NO_NUL]


class ThreepidItem(RequestBody):
    """One third-party ID of a PUT user body."""

    medium: NonEmptyStr
    address: NonEmptyStr


class UserUpsertBody(RequestBody):
    """PUT /_synapse/admin/v2/users/{userId}: a field left out is left
    unchanged (``admin`` and ``deactivated`` too, as Synapse)."""

    password: Password | None = None
    logout_devices: bool = True
    displayname: Str | None = None
    avatar_url: Str | None = None
    threepids: list[ThreepidItem] | None = None
    # SSO is not offered: only an empty list is accepted (synapse-admin sends one).
    external_ids: Annotated[list[JsonObject], Field(max_length=0)] | None = None
    admin: bool = False
    deactivated: bool = False
    locked: bool = False
    user_type: Str | None = None

    @property
    def given(self) -> frozenset[str]:
        """The fields the body has."""
        return frozenset(self.model_fields_set)


class DeactivateBody(RequestBody):
    """POST /_synapse/admin/v1/deactivate/{userId} (an empty body is {})."""

    erase: bool = False


class ResetPasswordBody(RequestBody):
    """POST /_synapse/admin/v1/reset_password/{userId}."""

    new_password: Password
    logout_devices: bool = True


class AdminFlagBody(RequestBody):
    """PUT /_synapse/admin/v1/users/{userId}/admin."""

    admin: bool


class NewDeviceBody(RequestBody):
    """POST /_synapse/admin/v2/users/{userId}/devices."""

    device_id: NonEmptyStr


class DeleteDevicesBody(RequestBody):
    """POST /_synapse/admin/v2/users/{userId}/delete_devices."""

    devices: list[Str]


class RenameDeviceBody(RequestBody):
    """PUT /_synapse/admin/v2/users/{userId}/devices/{deviceId}."""

    display_name: Str | None = None


class LoginAsBody(RequestBody):
    """POST /_synapse/admin/v1/users/{userId}/login."""

    valid_until_ms: NonNegativeInt | None = None
