"""A parsed sliding-sync request body (MSC4186 "Request Body"). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from homeserver.errors import BadJson, InvalidParam, JsonDict
from homeserver.services.sliding_sync.model import RoomConfig

MAX_LISTS = 100
MAX_SUBSCRIPTIONS = 100
MAX_TIMEOUT_MS = 5 * 60 * 1000
PRESENCE_VALUES = ("online", "offline", "unavailable")


@attrs.frozen
class RoomFilters:
    """A list's ``filters``; None: not filtered on."""

    is_dm: bool | None = None
    is_encrypted: bool | None = None
    is_invite: bool | None = None
    room_types: frozenset[str | None] | None = None
    not_room_types: frozenset[str | None] = frozenset()
    spaces: tuple[str, ...] | None = None
    tags: frozenset[str] | None = None
    not_tags: frozenset[str] = frozenset()


@attrs.frozen
class ListConfig:
    """One list: its filters, range (None: the whole list) and room config."""

    config: RoomConfig
    range: tuple[int, int] | None
    filters: RoomFilters


@attrs.frozen
class SlidingSyncRequest:
    """A request body, with ``pos``/``timeout``/``set_presence`` wherever given."""

    conn_id: str
    pos: str | None
    timeout_ms: int
    set_presence: str | None
    lists: Mapping[str, ListConfig]
    subscriptions: Mapping[str, RoomConfig]
    extensions: Mapping[str, JsonDict]


def _opt_bool(filters: JsonDict, name: str) -> bool | None:
    value = filters.get(name)
    if value is not None and not isinstance(value, bool):
        raise BadJson(f"filters.{name} must be a boolean")
    return value


def _opt_strings(
    filters: JsonDict, name: str, nullable: bool = False
) -> frozenset[Any] | None:
    value = filters.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(v, str) or (nullable and v is None) for v in value
    ):
        raise BadJson(f"filters.{name} must be a list of strings")
    return frozenset(value)


def parse_filters(value: object) -> RoomFilters:
    """A list's ``filters`` object."""
    if value is None:
        return RoomFilters()
    if not isinstance(value, dict):
        raise BadJson("filters must be an object")
    # Synapse and clients say is_invite; the MSC says is_invited.
    invite = _opt_bool(value, "is_invite")
    if invite is None:
        invite = _opt_bool(value, "is_invited")
    spaces = _opt_strings(value, "spaces")
    return RoomFilters(
        is_dm=_opt_bool(value, "is_dm"),
        is_encrypted=_opt_bool(value, "is_encrypted"),
        is_invite=invite,
        room_types=_opt_strings(value, "room_types", nullable=True),
        not_room_types=_opt_strings(value, "not_room_types", nullable=True)
        or frozenset(),
        spaces=None if spaces is None else tuple(sorted(spaces)),
        tags=_opt_strings(value, "tags"),
        not_tags=_opt_strings(value, "not_tags") or frozenset(),
    )


def parse_range(value: object) -> tuple[int, int] | None:
    """``[start, end]``, inclusive; also the older ``ranges: [[s, e]]``."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise BadJson("range must be [start, end]")
    start, end = value
    if start < 0 or end < start:
        raise InvalidParam("range must be [start, end] with 0 <= start <= end")
    return (start, end)


def parse_list(name: str, value: object) -> ListConfig:
    if not isinstance(value, dict):
        raise BadJson(f"list {name!r} must be an object")
    ranges = value.get("range")
    if ranges is None and isinstance(value.get("ranges"), list) and value["ranges"]:
        ranges = value["ranges"][0]
    return ListConfig(
        RoomConfig.parse(value, f"list {name!r}"),
        parse_range(ranges),
        parse_filters(value.get("filters")),
    )


def _mapping(body: JsonDict, name: str, limit: int | None) -> JsonDict:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadJson(f"{name} must be an object")
    if limit is not None and len(value) > limit:
        raise InvalidParam(f"at most {limit} {name} per request")
    return value


def parse_presence(value: object) -> str | None:
    if value is None:
        return None
    if value not in PRESENCE_VALUES:
        raise InvalidParam("set_presence must be online, offline or unavailable")
    return str(value)


def parse_request(
    body: JsonDict,
    query_pos: str | None = None,
    query_timeout: int | None = None,
    query_presence: str | None = None,
) -> SlidingSyncRequest:
    """The body, with the query parameters Synapse also takes (``pos``,
    ``timeout``, ``set_presence``) where the body leaves them out."""
    conn_id = body.get("conn_id") or ""
    if not isinstance(conn_id, str):
        raise BadJson("conn_id must be a string")
    pos = body.get("pos", query_pos)
    if pos is not None and not isinstance(pos, str):
        raise BadJson("pos must be a string")
    timeout = body.get("timeout", query_timeout) or 0
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise BadJson("timeout must be an integer")
    lists = {
        name: parse_list(name, value)
        for name, value in _mapping(body, "lists", MAX_LISTS).items()
    }
    subscriptions: dict[str, RoomConfig] = {}
    for room_id, value in _mapping(
        body, "room_subscriptions", MAX_SUBSCRIPTIONS
    ).items():
        if not room_id.startswith("!"):
            raise InvalidParam(f"{room_id!r} is not a room ID")
        subscriptions[room_id] = RoomConfig.parse(value, "room subscription")
    # ``null`` is an extension not asked for (as Synapse reads it).
    extensions = {
        k: v for k, v in _mapping(body, "extensions", None).items() if v is not None
    }
    for key, config in extensions.items():
        if not isinstance(config, dict):
            raise BadJson(f"extensions.{key} must be an object")
    return SlidingSyncRequest(
        conn_id=conn_id,
        pos=pos or None,
        timeout_ms=max(0, min(timeout, MAX_TIMEOUT_MS)),
        set_presence=parse_presence(body.get("set_presence", query_presence)),
        lists=lists,
        subscriptions=subscriptions,
        extensions=extensions,
    )
