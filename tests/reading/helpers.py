"""Helpers for the read-path tests: timed messages and whole-room pagination."""

from __future__ import annotations

from typing import Any

from tests.support import User


def say(user: User, room_id: str, body: str, **content: Any) -> str:
    """Send a text message; returns its event ID. Moves the clock 1s first."""
    user.server.advance(1)
    return user.send(room_id, body, **content)


def paginate_all(
    user: User,
    room_id: str,
    direction: str = "b",
    limit: int = 5,
    **query: Any,
) -> list[dict[str, Any]]:
    """Every event /messages returns from the default start, page by page."""
    events: list[dict[str, Any]] = []
    from_token = None
    for _ in range(200):
        resp = user.messages(
            room_id, dir=direction, limit=limit, **{"from": from_token}, **query
        )
        assert resp.code == 200, resp.json
        events.extend(resp.json["chunk"])
        if "end" not in resp.json:
            return events
        from_token = resp.json["end"]
    raise AssertionError("pagination did not finish")
