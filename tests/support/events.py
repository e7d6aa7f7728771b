"""Read client-format events: message bodies, event types."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def bodies(events: Iterable[dict[str, Any]]) -> list[str]:
    """The ``body`` of each m.room.message, in order (``"<redacted>"`` for one
    whose content was redacted away)."""
    return [
        e["content"].get("body", "<redacted>")
        for e in events
        if e["type"] == "m.room.message"
    ]


def event_types(events: Iterable[dict[str, Any]]) -> list[str]:
    """The ``type`` of each event, in order."""
    return [e["type"] for e in events]


def timeline(sync_body: dict[str, Any], room_id: str) -> list[dict[str, Any]]:
    """A joined room's timeline events in a /sync body (empty if it is absent)."""
    joined = sync_body["rooms"]["join"]
    return list(joined[room_id]["timeline"]["events"]) if room_id in joined else []
