"""Bodies of the Synapse-compatible admin API.

Synapse answers every invalid registration-token body with 400
M_INVALID_PARAM and every invalid shared-secret registration with 400
M_BAD_JSON, so these models do too (``RequestBody.errcode``), and admin tools
written for Synapse see the codes they expect.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from homeserver.api.http.body import (
    JSON_INT,
    NO_NUL,
    JsonObject,
    NonEmptyStr,
    NonNegativeInt,
    RequestBody,
    Str,
)
from homeserver.errors import Codes
from homeserver.types import JsonDict

TokenName = Annotated[str, Field(pattern=r"^[A-Za-z0-9._~-]{1,64}$"), NO_NUL]
"""A registration token: 1 to 64 characters of A-Z a-z 0-9 . _ ~ -"""


class NewRegistrationTokenBody(RequestBody):
    """POST /_synapse/admin/v1/registration_tokens/new: a named token, or a
    random one of ``length`` characters (16 if not given)."""

    errcode: ClassVar[str | None] = Codes.INVALID_PARAM

    token: TokenName | None = None
    uses_allowed: NonNegativeInt | None = None
    expiry_time: NonNegativeInt | None = None
    length: Annotated[int, Field(ge=1, le=64), JSON_INT] | None = None


class RegistrationTokenUpdateBody(RequestBody):
    """PUT /_synapse/admin/v1/registration_tokens/{token}: null means no limit;
    a field left out is left unchanged."""

    errcode: ClassVar[str | None] = Codes.INVALID_PARAM

    uses_allowed: NonNegativeInt | None = None
    expiry_time: NonNegativeInt | None = None

    def changes(self) -> JsonDict:
        """The fields given: field -> new value (None for no limit)."""
        return self.model_dump(exclude_unset=True)


class SharedSecretRegisterBody(RequestBody):
    """POST /_synapse/admin/v1/register."""

    errcode: ClassVar[str | None] = Codes.BAD_JSON

    nonce: NonEmptyStr
    username: NonEmptyStr
    password: NonEmptyStr
    mac: NonEmptyStr
    admin: bool = False
    user_type: Str | None = None
    displayname: Str | None = None


class ServerNoticeBody(RequestBody):
    """POST /_synapse/admin/v1/send_server_notice[/{txnId}] (Synapse's)."""

    user_id: NonEmptyStr
    content: JsonObject
    type: NonEmptyStr = "m.room.message"
    state_key: Str | None = None
