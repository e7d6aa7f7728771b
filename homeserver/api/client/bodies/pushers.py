"""Body of ``POST /pushers/set``.

Spec: client-server API v1.19, "Push Notifications" (pusher.yaml). ``kind``
must be present: null deletes the pusher named by ``app_id`` and ``pushkey``;
otherwise every field but ``profile_tag`` and ``append`` is required (as
Synapse checks them: 400 M_MISSING_PARAM naming the first missing one).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from homeserver.api.http.body import NO_NUL, JsonObject, Omittable, RequestBody, Str
from homeserver.errors import MissingParam
from homeserver.services.push.pushers.service import PusherSetRequest

# The spec's limits: app_id at most 64 characters, pushkey at most 512 bytes
# (checked in bytes by the service).
AppId = Annotated[str, Field(min_length=1, max_length=64), NO_NUL]
PushKey = Annotated[str, Field(min_length=1), NO_NUL]


class PusherSetBody(RequestBody):
    """POST /pushers/set."""

    kind: Str | None
    app_id: Omittable[AppId] = None
    pushkey: Omittable[PushKey] = None
    app_display_name: Omittable[Str] = None
    device_display_name: Omittable[Str] = None
    profile_tag: Omittable[Str] = None
    lang: Omittable[Str] = None
    data: Omittable[JsonObject] = None
    append: Omittable[bool] = None

    def to_request(self) -> PusherSetRequest:
        """The request the service takes.

        Raises:
            MissingParam: a field the kind needs is absent.
        """
        required: tuple[str, ...] = ("app_id", "pushkey")
        if self.kind is not None:
            required = (
                "app_id",
                "app_display_name",
                "device_display_name",
                "pushkey",
                "lang",
                "data",
            )
        for name in required:
            if getattr(self, name) is None:
                raise MissingParam(name)
        assert self.app_id is not None and self.pushkey is not None
        return PusherSetRequest(
            kind=self.kind,
            app_id=self.app_id,
            pushkey=self.pushkey,
            app_display_name=self.app_display_name or "",
            device_display_name=self.device_display_name or "",
            profile_tag=self.profile_tag,
            lang=self.lang,
            data=self.data or {},
            append=bool(self.append),
        )
