"""A request in the form deployed servers take (Synapse's), rewritten in the
form of MSC4186 as merged: ``range`` for ``ranges``, ``required_state`` as
``{include, lazy_members}``, ``is_invited`` for ``is_invite``, and ``pos`` and
``timeout`` in the body rather than the query string."""

from __future__ import annotations

import copy

from tests.interop.client import JsonDict


def _required_state(pairs: list[list[str]]) -> JsonDict:
    include = []
    lazy = False
    for event_type, state_key in pairs:
        if event_type == "m.room.member" and state_key == "$LAZY":
            lazy = True
            continue
        element = {}
        if event_type != "*":
            element["type"] = event_type
        if state_key != "*":
            element["state_key"] = state_key
        include.append(element)
    return {"include": include, "lazy_members": lazy}


def _config(config: JsonDict) -> JsonDict:
    out = dict(config)
    out["required_state"] = _required_state(config["required_state"])
    if "ranges" in out:
        out["range"] = out.pop("ranges")[0]
    filters = dict(out.get("filters", {}))
    if "is_invite" in filters:
        filters["is_invited"] = filters.pop("is_invite")
    if filters:
        out["filters"] = filters
    return out


def merged_form(body: JsonDict) -> JsonDict:
    """``body`` (lists, room_subscriptions, extensions) in the merged form."""
    out = copy.deepcopy(body)
    out["lists"] = {k: _config(v) for k, v in body.get("lists", {}).items()}
    out["room_subscriptions"] = {
        k: _config(v) for k, v in body.get("room_subscriptions", {}).items()
    }
    return out
