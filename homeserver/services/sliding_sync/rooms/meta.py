"""A sliding-sync room's ``name``, ``avatar``, ``heroes``, member counts and
unread counts (MSC4186, "RoomResult").

``name`` and ``avatar`` come with a room sent whole and, later, when they
changed (``null`` once removed, as the merged MSC says). ``heroes`` (with the
display name and avatar of their membership events) come when the room has
no name, with a room sent whole or when someone's membership changed; so do
``joined_count`` and ``invited_count`` for a joined room.
``notification_count`` and ``highlight_count`` come with every entry.
"""

from __future__ import annotations

from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.types import JsonDict

NAME_KEY: StateKey = (EventTypes.NAME, "")
AVATAR_KEY: StateKey = (EventTypes.AVATAR, "")


def content_string(event: Event | None, field: str) -> str | None:
    """A non-empty string field of an event's content, else None."""
    if event is None:
        return None
    value = event.content.get(field)
    return value if isinstance(value, str) and value else None


def naming_fields(
    result: JsonDict,
    events: dict[StateKey, Event],
    *,
    initial: bool,
    changed: frozenset[StateKey],
) -> None:
    """``name`` and ``avatar`` into ``result`` where the client needs them."""
    for key, field, source in (
        (NAME_KEY, "name", "name"),
        (AVATAR_KEY, "avatar", "url"),
    ):
        value = content_string(events.get(key), source)
        if initial and value is not None:
            result[field] = value
        elif not initial and key in changed:
            result[field] = value


def hero_entries(heroes: list[str], events: dict[StateKey, Event]) -> list[JsonDict]:
    """``heroes``: each user with the display name and avatar of their
    membership event, when set."""
    out = []
    for user_id in heroes:
        hero: JsonDict = {"user_id": user_id}
        member = events.get((EventTypes.MEMBER, user_id))
        for field in ("displayname", "avatar_url"):
            value = content_string(member, field)
            if value is not None:
                hero[field] = value
        out.append(hero)
    return out
