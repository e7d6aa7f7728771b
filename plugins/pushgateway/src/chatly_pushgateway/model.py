"""The push gateway API's values (spec "Push Gateway API",
``POST /_matrix/push/v1/notify``): a notification and the devices it is for,
parsed from the request body into typed, frozen objects. Pure: no I/O.

Parsing is lenient where the spec is (unknown keys are ignored, optional
keys may be missing) and strict where a back end could not work: a device
needs a string ``app_id`` and ``pushkey``; ``notification`` and
``devices`` must be there. A bad body raises ``BadNotification``."""

from __future__ import annotations

from typing import Any

import attrs

JsonDict = dict[str, Any]


class BadNotification(ValueError):
    """The request body is not a push gateway API notification."""


@attrs.frozen(kw_only=True)
class Counts:
    """``notification.counts``: the badge numbers (None when not sent)."""

    unread: int | None = None
    missed_calls: int | None = None


@attrs.frozen(kw_only=True)
class Device:
    """One entry of ``notification.devices``: a pusher of the user.

    Attributes:
        app_id: the pusher's ``app_id``; it picks the back end.
        pushkey: the pusher's ``pushkey`` (a token, an endpoint, a key).
        pushkey_ts: when the pushkey was last updated (seconds), 0 if unknown.
        data: the pusher's ``data`` minus ``url`` and ``format``, as the
            homeserver passes it on (``default_payload``, WebPush keys...).
        tweaks: the push rule tweaks (``sound``, ``highlight``).
    """

    app_id: str
    pushkey: str
    pushkey_ts: int = 0
    data: JsonDict = attrs.field(factory=dict)
    tweaks: JsonDict = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Notification:
    """A notification, with every optional key of the spec (None if absent).
    A notification with no ``event_id`` only updates badge counts; one with
    an ``event_id`` but no ``type``/``content`` was sent with
    ``format: event_id_only``."""

    devices: tuple[Device, ...]
    event_id: str | None = None
    room_id: str | None = None
    type: str | None = None
    sender: str | None = None
    sender_display_name: str | None = None
    room_name: str | None = None
    room_alias: str | None = None
    user_is_target: bool = False
    membership: str | None = None
    prio: str = "high"
    content: JsonDict | None = None
    counts: Counts = attrs.field(factory=Counts)

    @property
    def event_id_only(self) -> bool:
        """Whether the homeserver sent only the event's ID (no content)."""
        return self.type is None and self.content is None


_OPTIONAL_STRINGS = (
    "event_id",
    "room_id",
    "type",
    "sender",
    "sender_display_name",
    "room_name",
    "room_alias",
    "membership",
)


def _opt_int(raw: JsonDict, key: str) -> int | None:
    value = raw.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> JsonDict:
    return dict(value) if isinstance(value, dict) else {}


def parse_device(raw: Any) -> Device:
    """One ``devices`` entry.

    Raises:
        BadNotification: it is not an object with string app_id and pushkey.
    """
    if not isinstance(raw, dict):
        raise BadNotification("each device must be an object")
    app_id, pushkey = raw.get("app_id"), raw.get("pushkey")
    if not isinstance(app_id, str) or not isinstance(pushkey, str):
        raise BadNotification("each device needs a string app_id and pushkey")
    return Device(
        app_id=app_id,
        pushkey=pushkey,
        pushkey_ts=_opt_int(raw, "pushkey_ts") or 0,
        data=_dict(raw.get("data")),
        tweaks=_dict(raw.get("tweaks")),
    )


def parse_notification(raw: Any) -> Notification:
    """The ``notification`` object of a notify request.

    Raises:
        BadNotification: not an object, or ``devices`` is not a list of devices.
    """
    if not isinstance(raw, dict):
        raise BadNotification("notification must be an object")
    devices = raw.get("devices")
    if not isinstance(devices, list):
        raise BadNotification("notification.devices must be a list")
    strings = {
        key: raw[key] for key in _OPTIONAL_STRINGS if isinstance(raw.get(key), str)
    }
    counts = _dict(raw.get("counts"))
    content = raw.get("content")
    return Notification(
        devices=tuple(parse_device(d) for d in devices),
        user_is_target=raw.get("user_is_target") is True,
        prio="low" if raw.get("prio") == "low" else "high",
        content=dict(content) if isinstance(content, dict) else None,
        counts=Counts(
            unread=_opt_int(counts, "unread"),
            missed_calls=_opt_int(counts, "missed_calls"),
        ),
        **strings,
    )


def parse_notify_body(body: Any) -> Notification:
    """The whole body of ``POST /_matrix/push/v1/notify``.

    Raises:
        BadNotification: it is not ``{"notification": {...}}``.
    """
    if not isinstance(body, dict) or "notification" not in body:
        raise BadNotification("the body must be {'notification': {...}}")
    return parse_notification(body["notification"])


def truncate_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` bytes of UTF-8, on a character
    boundary, with an ellipsis when cut (payload limits: 4 KiB for WebPush
    and APNs, 4 KiB of data for FCM)."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    cut = encoded[: max(max_bytes - 3, 0)].decode("utf-8", errors="ignore")
    return cut + "…"
