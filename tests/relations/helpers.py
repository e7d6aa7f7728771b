"""Sending relations and reading them back, for the relations tests."""

from __future__ import annotations

from typing import Any

from tests.support import V1, Room, User
from tests.support.urls import q


def react(user: User, room_id: str, target: str, key: str, **kw: Any) -> Any:
    content = {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}
    }
    return user.send_event(room_id, content, "m.reaction", **kw)


def edit(user: User, room_id: str, target: str, body: str, **kw: Any) -> Any:
    content = {
        "msgtype": "m.text",
        "body": f"* {body}",
        "m.new_content": {"msgtype": "m.text", "body": body},
        "m.relates_to": {"rel_type": "m.replace", "event_id": target},
    }
    return user.send_event(
        room_id, content, kw.pop("event_type", "m.room.message"), **kw
    )


def reply_in_thread(user: User, room_id: str, root: str, body: str) -> str:
    user.server.advance(1)
    return user.send(
        room_id, body, **{"m.relates_to": {"rel_type": "m.thread", "event_id": root}}
    )


def reference(user: User, room_id: str, target: str, body: str) -> str:
    return user.send(
        room_id,
        body,
        **{"m.relates_to": {"rel_type": "m.reference", "event_id": target}},
    )


def relations(
    user: User,
    room_id: str,
    event_id: str,
    *parts: str,
    expect: int | None = 200,
    **query: Any,
) -> Any:
    path = f"{V1}/rooms/{q(room_id)}/relations/{q(event_id)}"
    for part in parts:
        path += f"/{q(part)}"
    return user.get(path, expect=expect, **query)


def threads(user: User, room_id: str, expect: int | None = 200, **query: Any) -> Any:
    return user.get(f"{V1}/rooms/{q(room_id)}/threads", expect=expect, **query)


def bundled(event: dict[str, Any]) -> dict[str, Any]:
    return dict(event.get("unsigned", {}).get("m.relations", {}))


def served_everywhere(room: Room, event_id: str) -> list[dict[str, Any]]:
    """The event as /event, /messages, /context, /sync and /relations serve it."""
    alice = room.alice
    found = [alice.event(room.id, event_id).json]
    chunk = alice.messages(room.id, limit=50).json["chunk"]
    found += [e for e in chunk if e["event_id"] == event_id]
    context = alice.get(f"/rooms/{room.id}/context/{event_id}").json
    found.append(context["event"])
    sync = alice.sync()["rooms"]["join"][room.id]["timeline"]["events"]
    found += [e for e in sync if e["event_id"] == event_id]
    assert len(found) == 4, "the event is in each response"
    return found
