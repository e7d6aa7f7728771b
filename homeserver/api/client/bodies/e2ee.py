"""Bodies of the end-to-end encryption key endpoints.

Spec: client-server API, "End-to-End Encryption" (keys/upload, keys/query,
keys/claim) and "Cross-signing" (keys/device_signing/upload). The keys
themselves are checked by ``services/e2ee/key_checks.py``; these models check
the envelope.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from homeserver.api.client.bodies.accounts import UiaBody
from homeserver.api.http.body import (
    JsonObject,
    NonNegativeInt,
    Omittable,
    RequestBody,
    Str,
)


class KeysUploadBody(RequestBody):
    """POST /keys/upload."""

    device_keys: JsonObject | None = None
    one_time_keys: dict[Str, Any] | None = None
    fallback_keys: dict[Str, Any] | None = None
    unstable_fallback_keys: dict[Str, Any] | None = Field(
        None, alias="org.matrix.msc2732.fallback_keys"
    )


class KeysQueryBody(RequestBody):
    """POST /keys/query: user ID -> device IDs (none: every device)."""

    device_keys: dict[Str, list[Str]]
    timeout: Omittable[NonNegativeInt] = None


class KeysClaimBody(RequestBody):
    """POST /keys/claim: user ID -> device ID -> algorithm."""

    one_time_keys: dict[Str, dict[Str, Str]]
    timeout: Omittable[NonNegativeInt] = None


class DeviceSigningUploadBody(UiaBody):
    """POST /keys/device_signing/upload (behind UIA when replacing keys)."""

    master_key: JsonObject | None = None
    self_signing_key: JsonObject | None = None
    user_signing_key: JsonObject | None = None

    def keys(self) -> dict[str, Any]:
        """The keys given, by body field."""
        return self.model_dump(exclude_none=True, exclude={"auth"})


class DehydratedDeviceBody(RequestBody):
    """PUT /dehydrated_device (MSC3814)."""

    device_id: Str
    device_data: JsonObject
    initial_device_display_name: Str | None = None
    device_keys: JsonObject
    one_time_keys: dict[Str, Any] | None = None
    fallback_keys: dict[Str, Any] | None = None


class DehydratedEventsBody(RequestBody):
    """POST /dehydrated_device/{deviceId}/events (MSC3814, as Synapse)."""

    next_batch: Str | None = None
