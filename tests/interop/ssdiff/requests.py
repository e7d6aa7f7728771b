"""Alice's sliding-sync request bodies, the same for both servers."""

from __future__ import annotations

from collections.abc import Callable

from tests.interop.client import JsonDict, quote
from tests.interop.ssdiff.merged import merged_form
from tests.interop.ssdiff.scenario import (
    World,
    act_between,
    change_memberships,
    leave_secrets,
)


def extensions(world: World) -> JsonDict:
    """Every extension; to_device acknowledges what it was last sent."""
    to_device: JsonDict = {"enabled": True}
    if world.to_device_since is not None:
        to_device["since"] = world.to_device_since
    return {
        "to_device": to_device,
        "e2ee": {"enabled": True},
        "account_data": {"enabled": True},
        "receipts": {"enabled": True},
        "typing": {"enabled": True},
    }


def lists() -> JsonDict:
    """Lists over the same rooms, each with a filter of its own. (Not the
    ``spaces`` filter: Synapse 1.163 answers it with a 500,
    NotImplementedError; tests/sliding_sync/core covers ours.)"""
    return {
        # Element X's room list asks for about this.
        "all": {
            "ranges": [[0, 9]],
            "timeline_limit": 2,
            "required_state": [
                ["m.room.name", ""],
                ["m.room.avatar", ""],
                ["m.room.encryption", ""],
                ["m.room.topic", ""],
                ["m.room.join_rules", ""],
                ["m.room.canonical_alias", ""],
                ["m.room.member", "$ME"],
                ["m.room.create", ""],
                ["m.room.power_levels", ""],
                ["m.room.history_visibility", ""],
                ["m.room.pinned_events", ""],
            ],
        },
        "dms": {
            "ranges": [[0, 9]],
            "timeline_limit": 1,
            "required_state": [["m.room.power_levels", ""]],
            "filters": {"is_dm": True},
        },
        "encrypted": {
            "ranges": [[0, 9]],
            "timeline_limit": 1,
            "required_state": [["m.room.encryption", ""]],
            "filters": {"is_encrypted": True},
        },
        "invites": {
            "ranges": [[0, 9]],
            "timeline_limit": 0,
            "required_state": [],
            "filters": {"is_invite": True},
        },
        "spaces": {
            "ranges": [[0, 9]],
            "timeline_limit": 0,
            "required_state": [["m.space.child", "*"]],
            "filters": {"room_types": ["m.space"]},
        },
        "favourites": {
            "ranges": [[0, 9]],
            "timeline_limit": 1,
            "required_state": [],
            "filters": {"tags": ["m.favourite"]},
        },
        # A window over part of the list: the three most recent rooms that
        # are neither spaces nor favourites.
        "others": {
            "ranges": [[0, 2]],
            "timeline_limit": 1,
            "required_state": [],
            "filters": {"not_room_types": ["m.space"], "not_tags": ["m.favourite"]},
        },
    }


def sync_request(world: World, project_timeline: int = 4) -> JsonDict:
    """Alice's request: the lists, a subscription to Project (lazy members)
    and every extension."""
    return {
        "conn_id": "room-list",
        "lists": lists(),
        "room_subscriptions": {
            world.rooms["Project"]: {
                "timeline_limit": project_timeline,
                "required_state": [["m.room.member", "$LAZY"], ["m.room.topic", ""]],
            },
            world.rooms["Elsewhere"]: {"timeline_limit": 1, "required_state": []},
        },
        "extensions": extensions(world),
    }


# The requests of one run, in order.
STEPS = (
    "initial",
    "messages",
    "incremental",
    "quiet",
    "expanded",
    "left",
    "changes",
)


def paginate(world: World, answer: JsonDict) -> JsonDict:
    """What /messages gives alice backwards from each room's prev_batch
    (three events), in the shape of an answer: ``{"rooms": {room: chunk}}``."""
    out = {}
    for room_id, room in (answer.get("rooms") or {}).items():
        if "prev_batch" in room:
            query = f"dir=b&limit=3&from={quote(room['prev_batch'])}"
            path = f"/rooms/{quote(room_id)}/messages?{query}"
            out[room_id] = world.alice.call("GET", path)["chunk"]
    return {"rooms": out}


def play(
    world: World,
    after: Callable[[JsonDict], None] = lambda answer: None,
    merged: bool = False,
) -> dict[str, JsonDict]:
    """Alice's connection through the scenario: her first request (and
    /messages from its prev_batch tokens: :func:`paginate`), one after
    :func:`act_between`, one with nothing new, one that raises Project's
    timeline_limit, one after alice left a room, and one after
    :func:`change_memberships`. The raw answers by step;
    ``after`` sees each answer as soon as it arrives. ``merged``: the requests
    in the form of the merged MSC (tests/interop/ssdiff/merged.py)."""

    def ask(project_timeline: int = 4) -> JsonDict:
        body = sync_request(world, project_timeline)
        if merged:
            answer = world.sliding_sync(merged_form(body), in_body=True)
        else:
            answer = world.sliding_sync(body)
        after(answer)
        return answer

    out = {"initial": ask()}
    out["messages"] = paginate(world, out["initial"])
    act_between(world)
    out["incremental"] = ask()
    out["quiet"] = ask()
    out["expanded"] = ask(project_timeline=6)
    leave_secrets(world)
    out["left"] = ask(project_timeline=6)
    change_memberships(world)
    out["changes"] = ask(project_timeline=6)
    return out
