"""Set-ups many interop tests share: a room on one server joined from the other."""

from __future__ import annotations

from typing import Any

from tests.interop.client import Client, JsonDict, quote


def room_joined_across(
    creator: Client, creator_server: str, joiner: Client, **create: Any
) -> str:
    """``creator`` makes a public room; ``joiner`` (on the other server) joins it
    by room ID through ``creator_server``; both have seen the join."""
    room_id = creator.create_room(preset="public_chat", **create)
    assert joiner.join(room_id, via=[creator_server]) == room_id
    joiner.wait_for_membership(room_id, joiner.user_id, "join")
    creator.wait_for_membership(room_id, joiner.user_id, "join")
    return room_id


def is_message(body: str) -> Any:
    """A predicate: an m.room.message with this body."""
    return lambda event: (
        event.get("type") == "m.room.message"
        and event.get("content", {}).get("body") == body
    )


def messages(client: Client, room_id: str, limit: int = 100) -> list[JsonDict]:
    """The room's newest events through /messages, oldest first."""
    body = client.call(
        "GET", f"/rooms/{quote(room_id)}/messages?dir=b&limit={limit}", timeout=90
    )
    return list(reversed(body["chunk"]))


def bodies(events: list[JsonDict]) -> list[str]:
    """The bodies of the m.room.message events among ``events``, in order."""
    return [
        e["content"]["body"]
        for e in events
        if e.get("type") == "m.room.message" and "body" in e.get("content", {})
    ]


def raise_power(admin: Client, room_id: str, user_id: str, level: int = 100) -> None:
    """``admin`` gives ``user_id`` a power level in ``room_id``."""
    content: JsonDict = admin.get_state(room_id, "m.room.power_levels")
    content.setdefault("users", {})[user_id] = level
    admin.set_state(room_id, "m.room.power_levels", content)
