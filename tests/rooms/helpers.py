"""Room state read straight from the services (client calls are on ``tests.support.User``)."""

from __future__ import annotations

from typing import Any

from tests.support import TestServer


def current_state(
    server: TestServer, room_id: str
) -> dict[tuple[str, str], dict[str, Any]]:
    """(type, state_key) -> content, straight from the services."""
    ids = server.get_success(server.hs.core.room_state.get_current_state_ids(room_id))
    events = server.get_success(server.hs.core.events.get_events(list(ids.values())))
    return {key: events[eid].content for key, eid in ids.items()}


def member_of(server: TestServer, room_id: str, user_id: str) -> str | None:
    found = server.get_success(
        server.hs.core.room_state.get_membership(room_id, user_id)
    )
    return found[0] if found else None
