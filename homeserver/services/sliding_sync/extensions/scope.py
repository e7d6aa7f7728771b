"""The fields every extension shares, and which rooms a per-room extension
covers (MSC4508 "Common extension semantics" and "Common per-room extension
semantics"). Pure.

``enabled`` (default false) switches an extension on. A per-room extension
covers the rooms in range of the lists named in ``lists`` and the room
subscriptions named in ``rooms``; a missing field means all of them, an empty
one none. Names of lists not in the request and rooms that are not the user's
are ignored. ``"*"``, which the deployed implementations (Synapse up to
v1.151) took for "all" and MSC4508 dropped, is still read as "all" on this
unstable endpoint, so that clients written for them keep working.
"""

from __future__ import annotations

from collections.abc import Collection

from homeserver.errors import BadJson
from homeserver.services.sliding_sync.extensions.context import ExtensionContext
from homeserver.types import JsonDict

WILDCARD = "*"


def check_common(key: str, config: JsonDict, per_room: bool) -> None:
    """400 M_BAD_JSON for a malformed ``enabled`` (and ``lists``/``rooms``)."""
    enabled = config.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise BadJson(f"extensions.{key}.enabled must be a boolean")
    if not per_room:
        return
    for name in ("lists", "rooms"):
        value = config.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadJson(f"extensions.{key}.{name} must be a list of strings")


def _named(value: object, known: Collection[str]) -> Collection[str]:
    """The names of ``known`` that a ``lists``/``rooms`` field picks."""
    if value is None or (isinstance(value, list) and WILDCARD in value):
        return known
    assert isinstance(value, list)
    return [v for v in value if v in known]


def rooms_in_scope(ctx: ExtensionContext, config: JsonDict) -> list[str]:
    """The rooms a per-room extension covers in this response, in a stable
    order (lists first, in request order, then subscriptions)."""
    out: dict[str, None] = {}
    for name in _named(config.get("lists"), list(ctx.list_rooms)):
        out.update(dict.fromkeys(ctx.list_rooms[name]))
    out.update(dict.fromkeys(_named(config.get("rooms"), ctx.subscribed_rooms)))
    return list(out)
