"""Bodies of typing, receipts, read markers, tags, to-device and presence.

Spec: client-server API, "Typing Notifications", "Receipts", "Read and unread
markers", "Room Tagging", "Send-to-Device messaging", "Presence".
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from homeserver.api.http.body import (
    NO_NUL,
    JsonObject,
    NonEmptyStr,
    NonNegativeInt,
    Omittable,
    RequestBody,
    Str,
)
from homeserver.errors import Codes
from homeserver.services.presence.presence import MAX_STATUS_MSG_LENGTH


class TypingBody(RequestBody):
    """PUT /rooms/{roomId}/typing/{userId}."""

    typing: bool
    timeout: Omittable[NonNegativeInt] = None


class ReceiptBody(RequestBody):
    """POST /rooms/{roomId}/receipt/{receiptType}/{eventId}. Whether the
    thread fits the receipt is the service's to say. Any bad ``thread_id``
    (not a string, empty) is M_INVALID_PARAM, as the spec says."""

    field_errcodes: ClassVar[dict[str, str]] = {"thread_id": Codes.INVALID_PARAM}

    thread_id: Omittable[NonEmptyStr] = None


class ReadMarkersBody(RequestBody):
    """POST /rooms/{roomId}/read_markers."""

    fully_read: Str | None = Field(None, alias="m.fully_read")
    read: Str | None = Field(None, alias="m.read")
    read_private: Str | None = Field(None, alias="m.read.private")

    def markers(self) -> dict[str, str]:
        """The markers given: receipt type -> event ID."""
        return self.model_dump(by_alias=True, exclude_none=True)


class TagBody(RequestBody):
    """PUT /user/{userId}/rooms/{roomId}/tags/{tag} (spec: definitions/tag.yaml).

    The tag's content is the whole body, unknown keys included; only ``order``
    has a schema.
    """

    order: Omittable[Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]] = None


class SendToDeviceBody(RequestBody):
    """PUT /sendToDevice/{eventType}/{txnId}: user ID -> device ID (or ``*``)
    -> content. Whether the keys are user IDs is the service's to say."""

    messages: dict[Str, dict[Str, JsonObject]]


class PresenceBody(RequestBody):
    """PUT /presence/{userId}/status."""

    presence: Annotated[Literal["online", "offline", "unavailable"], NO_NUL]
    status_msg: (
        Annotated[str, Field(max_length=MAX_STATUS_MSG_LENGTH), NO_NUL] | None
    ) = None
