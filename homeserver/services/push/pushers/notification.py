"""The ``notification`` a push gateway receives (pure: no I/O).

Spec: push gateway API v1.19, ``POST /_matrix/push/v1/notify``. The
priority is Synapse's: ``high`` for encrypted events and for actions that
highlight or play a sound, else ``low``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from homeserver.storage.stores.pushers import PusherRecord
from homeserver.types import JsonDict

EVENT_ID_ONLY = "event_id_only"
ENCRYPTED = "m.room.encrypted"
MEMBER = "m.room.member"


@attrs.frozen(kw_only=True)
class EventDetails:
    """What a notification says about its event and room."""

    event_id: str
    room_id: str
    type: str
    sender: str
    state_key: str | None
    content: JsonDict
    sender_display_name: str | None
    room_name: str | None
    room_alias: str | None


def tweaks_of(actions: list[Any]) -> dict[str, Any]:
    """The ``set_tweak`` actions as a dict (``highlight`` without a value is
    True)."""
    tweaks: dict[str, Any] = {}
    for action in actions:
        if isinstance(action, Mapping) and isinstance(action.get("set_tweak"), str):
            name = action["set_tweak"]
            tweaks[name] = action.get("value", True if name == "highlight" else None)
    return {k: v for k, v in tweaks.items() if v is not None}


def priority(event_type: str, tweaks: Mapping[str, Any]) -> str:
    """``high`` or ``low``, as Synapse decides it."""
    if event_type == ENCRYPTED or tweaks.get("highlight") or tweaks.get("sound"):
        return "high"
    return "low"


def device_of(record: PusherRecord, tweaks: Mapping[str, Any]) -> JsonDict:
    """The pusher as one entry of ``devices``: its data without ``url``, as
    the push gateway API says (``format`` stays: the API lists it among the
    data a gateway gets, and Synapse sends it)."""
    return {
        "app_id": record.app_id,
        "pushkey": record.pushkey,
        "pushkey_ts": record.pushkey_ts // 1000,
        "data": {k: v for k, v in record.data.items() if k != "url"},
        "tweaks": dict(tweaks),
    }


def event_notification(
    record: PusherRecord,
    details: EventDetails,
    actions: list[Any],
    *,
    badge: int,
    include_content: bool,
) -> JsonDict:
    """The notification of one event for one pusher."""
    tweaks = tweaks_of(actions)
    notification: JsonDict = {
        "event_id": details.event_id,
        "room_id": details.room_id,
        "prio": priority(details.type, tweaks),
        "counts": {"unread": badge},
        "devices": [device_of(record, tweaks)],
    }
    if record.data.get("format") == EVENT_ID_ONLY:
        return notification
    notification["type"] = details.type
    notification["sender"] = details.sender
    if details.type == MEMBER and details.state_key is not None:
        notification["membership"] = details.content.get("membership")
        notification["user_is_target"] = details.state_key == record.user_id
    if details.sender_display_name:
        notification["sender_display_name"] = details.sender_display_name
    if details.room_name:
        notification["room_name"] = details.room_name
    if details.room_alias:
        notification["room_alias"] = details.room_alias
    if include_content and details.content:
        notification["content"] = details.content
    return notification


def badge_notification(record: PusherRecord, badge: int) -> JsonDict:
    """A counts-only notification (the user read something), as Synapse
    sends it: no event, the new badge."""
    return {
        "prio": "low",
        "counts": {"unread": badge},
        "devices": [device_of(record, {})],
    }
