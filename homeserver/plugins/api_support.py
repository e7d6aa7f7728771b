"""Helpers of the ``PluginAPI`` facade (``plugins/api.py``); not for plugins."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs

from homeserver.errors import MatrixError
from homeserver.plugins.api_types import JsonDict, PluginError
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.profile import (
    MAX_AVATAR_URL_LEN,
    MAX_DISPLAYNAME_LEN,
)
from homeserver.types import UserID

PLUGIN_DEVICE_ID = "CHATLY_PLUGIN"
"""The device ID of events a plugin sends (no real device stands behind them)."""

PRESETS = ("private_chat", "trusted_private_chat", "public_chat")
VISIBILITIES = ("private", "public")
_NOT_LOCALPART = re.compile(r"[^a-z0-9._=/+-]")


@attrs.frozen
class PluginRequester(Requester):
    """A plugin acting as a user: per-user rate limits spare it, as they
    spare application services (a bot answers as fast as it is asked)."""

    @property
    def ratelimit_exempt(self) -> bool:
        """Always: see the class doc."""
        return True


def acting_as(user_id: str) -> PluginRequester:
    """The requester of a plugin acting as local user ``user_id``."""
    return PluginRequester(UserID.parse(user_id), PLUGIN_DEVICE_ID, "")


def default_bot_localpart(name: str) -> str:
    """The bot localpart of a plugin that configures none: its name,
    lower-cased, with characters a localpart cannot hold turned into ``_``."""
    return _NOT_LOCALPART.sub("_", name.lower())


@contextmanager
def as_plugin_errors() -> Iterator[None]:
    """A refusal of a service (``MatrixError``) as a ``PluginError``."""
    try:
        yield
    except PluginError:
        raise
    except MatrixError as exc:
        raise PluginError(exc.code, exc.msg, exc.errcode) from exc


def check_profile_fields(fields: dict[str, str | None]) -> None:
    """The checks ``PUT /profile`` makes of a display name and avatar URL.

    Raises:
        PluginError: 400 ``M_BAD_JSON`` for a value that is not a string
            without NUL characters or that is too long.
    """
    limits = {"displayname": MAX_DISPLAYNAME_LEN, "avatar_url": MAX_AVATAR_URL_LEN}
    for key, value in fields.items():
        if value is None:
            continue
        if not isinstance(value, str) or "\x00" in value or len(value) > limits[key]:
            raise PluginError(400, f"set_profile: invalid {key}", "M_BAD_JSON")


@attrs.frozen(kw_only=True)
class _InitialState:
    type: str
    state_key: str
    content: JsonDict


@attrs.frozen(kw_only=True)
class RoomOptions:
    """A createRoom request built from ``PluginAPI.create_room``'s arguments
    (the service's ``RoomCreationRequest``)."""

    name: str | None
    topic: str | None
    invite: Sequence[str]
    preset: str | None
    is_direct: bool
    visibility: str
    initial_state: Sequence[_InitialState]
    power_level_content_override: JsonDict
    room_version: str | None = None
    creation_content: JsonDict = attrs.field(factory=dict)
    room_alias_name: str | None = None


def room_options(
    *,
    name: str | None,
    topic: str | None,
    invite: Sequence[str],
    preset: str,
    is_direct: bool,
    visibility: str,
    initial_state: Sequence[JsonDict],
    power_level_content_override: JsonDict | None,
) -> RoomOptions:
    """Check ``create_room``'s arguments as the createRoom body is checked.

    Raises:
        PluginError: 400 ``M_INVALID_PARAM`` naming the bad argument.
    """

    def bad(what: str) -> PluginError:
        return PluginError(400, f"create_room: invalid {what}", "M_INVALID_PARAM")

    if preset not in PRESETS:
        raise bad("preset")
    if visibility not in VISIBILITIES:
        raise bad("visibility")
    if isinstance(invite, str) or not all(isinstance(u, str) for u in invite):
        raise bad("invite")
    states = []
    for item in initial_state:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("type"), str)
            and isinstance(item.get("state_key", ""), str)
            and isinstance(item.get("content"), dict)
        ):
            raise bad("initial_state")
        states.append(
            _InitialState(
                type=item["type"],
                state_key=item.get("state_key", ""),
                content=dict(item["content"]),
            )
        )
    return RoomOptions(
        name=name,
        topic=topic,
        invite=list(invite),
        preset=preset,
        is_direct=is_direct,
        visibility=visibility,
        initial_state=states,
        power_level_content_override=dict(power_level_content_override or {}),
    )


def as_json_value(value: Any) -> Any:
    """``value`` itself if it is JSON (no NaN or infinity).

    Raises:
        ValueError: it is not.
    """
    import json

    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"plugin kv value is not JSON: {exc}") from None
    return value
