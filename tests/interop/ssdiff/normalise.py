"""Server-independent form of a sliding-sync response.

IDs become labels both runs share (``@bob``, ``Project``,
``Project:m.room.message:first``), values that cannot agree between two
servers (timestamps, tokens, stream positions) become their type, and lists
whose order means nothing are sorted (state lists become maps keyed by
``type state_key``). :func:`align_bump_stamps` then turns both answers'
``bump_stamp`` values into ranks.
"""

from __future__ import annotations

import collections
import json
from typing import Any

from tests.interop.client import Client, JsonDict, quote
from tests.interop.ssdiff.scenario import World

# Values that are per-server by nature; compared by type only.
VOLATILE_KEYS = frozenset(
    {
        "origin_server_ts",
        "age",
        "ts",
        "pos",
        "prev_batch",
        "next_batch",
        "since",
        "transaction_id",
    }
)
# Lists whose order carries no meaning.
UNORDERED = frozenset(
    {"changed", "left", "device_unused_fallback_key_types", "user_ids"}
)
# Lists of state events whose order carries no meaning; compared as maps.
STATE_LISTS = frozenset({"required_state", "invite_state", "stripped_state"})


def _room_reader(world: World, label: str) -> Client:
    """A member of the room who can read all of its history."""
    if label in ("Group", "DM", "Secrets", "Elsewhere"):
        return world.bob
    if label == "Party":
        return world.carol
    return world.alice


def event_labels(world: World, names: dict[str, str]) -> dict[str, str]:
    """Event ID -> ``Room:type:state_key-or-body``, with ``#n`` for repeats."""
    labels: dict[str, str] = {}
    for label, room_id in world.rooms.items():
        reader = _room_reader(world, label)
        path = f"/rooms/{quote(room_id)}/messages?dir=f&limit=200"
        chunk = reader.call("GET", path)["chunk"]
        seen: collections.Counter[str] = collections.Counter()
        for event in chunk:
            if "state_key" in event:
                detail = names.get(event["state_key"], event["state_key"])
            else:
                detail = str(event.get("content", {}).get("body", ""))
            base = f"{label}:{event['type']}:{detail}"
            seen[base] += 1
            labels[event["event_id"]] = (
                base if seen[base] == 1 else f"{base}#{seen[base]}"
            )
    return labels


def id_labels(world: World) -> dict[str, str]:
    """User, room, device and server IDs -> labels."""
    names: dict[str, str] = dict(world.users())
    # Default display names are the localparts.
    names.update({u[1:].split(":")[0]: role[1:] for u, role in world.users().items()})
    names.update({room_id: label for label, room_id in world.rooms.items()})
    for role, client in world.clients().items():
        names[client.device_id] = f"{role[1:].upper()}_DEVICE"
    server = world.alice.user_id.split(":", 1)[1]
    names[server] = "SERVER"
    return names


def _walk(value: Any, names: dict[str, str], key: str | None = None) -> Any:
    if key in VOLATILE_KEYS and value is not None:
        return f"<{type(value).__name__}>"
    if isinstance(value, dict):
        return {names.get(k, k): _walk(v, names, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [_walk(v, names) for v in value]
        if key in UNORDERED:
            items.sort(key=lambda v: json.dumps(v, sort_keys=True))
        elif key in STATE_LISTS:
            # Keyed by "type state_key", so a missing or extra event shows as
            # one difference.
            return {f"{e.get('type')} {e.get('state_key')}": e for e in items}
        return items
    if isinstance(value, str):
        return names.get(value, value)
    return value


def align_bump_stamps(chatly: JsonDict, synapse: JsonDict) -> None:
    """Each ``bump_stamp`` becomes the room's rank (0 = most recent) among the
    rooms both answers give one for, which both servers must agree on; one
    only one answer gives becomes ``<int>``."""
    mine = chatly.get("rooms") or {}
    theirs = synapse.get("rooms") or {}
    both = [
        r for r in mine if "bump_stamp" in mine[r] and "bump_stamp" in theirs.get(r, {})
    ]
    for rooms in (mine, theirs):
        ranked = sorted(both, key=lambda r: rooms[r]["bump_stamp"], reverse=True)
        for room_id, room in rooms.items():
            if "bump_stamp" in room:
                rank = ranked.index(room_id) if room_id in both else None
                room["bump_stamp"] = "<int>" if rank is None else f"rank {rank}"


def _by_type(events: list[JsonDict]) -> JsonDict:
    return {e.get("type"): e for e in events}


def _key_account_data(extensions: JsonDict) -> None:
    """Account data events by type (their order carries no meaning)."""
    data = extensions.get("account_data")
    if not isinstance(data, dict):
        return
    if isinstance(data.get("global"), list):
        data["global"] = _by_type(data["global"])
    rooms = data.get("rooms")
    if isinstance(rooms, dict):
        data["rooms"] = {r: _by_type(events) for r, events in rooms.items()}


def normalise(answer: JsonDict, world: World) -> JsonDict:
    """``answer`` with labels for IDs and volatile values reduced to types."""
    names = id_labels(world)
    names.update(event_labels(world, names))
    out: JsonDict = _walk(answer, names)
    _key_account_data(out.get("extensions") or {})
    return out
