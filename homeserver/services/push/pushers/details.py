"""What a notification says about its event: the event itself, the sender's
display name and the room's name and canonical alias, from the room's
current state (as Synapse's push gateway notifications carry them)."""

from __future__ import annotations

from homeserver.services.push.pushers.notification import EventDetails
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore


class EventDetailsReader:
    """Reads ``EventDetails``.

    Args:
        events: the event store.
        room_state: the rooms' current state.
    """

    def __init__(self, *, events: EventStore, room_state: RoomStateStore) -> None:
        self.events = events
        self.room_state = room_state

    async def details(self, event_id: str) -> EventDetails | None:
        """The details of an event, or None if we do not have it (or it
        was redacted since: nothing worth pushing then)."""
        event = await self.events.get_event(event_id)
        if event is None or event.redacted_by is not None:
            return None
        room_id = event.room_id
        wanted = {
            "member": ("m.room.member", event.sender),
            "name": ("m.room.name", ""),
            "alias": ("m.room.canonical_alias", ""),
        }
        ids: dict[str, str] = {}
        for what, (event_type, state_key) in wanted.items():
            found = await self.room_state.get_current_state_event_id(
                room_id, event_type, state_key
            )
            if found is not None:
                ids[what] = found
        state = await self.events.get_events(list(ids.values()))

        def field(what: str, key: str) -> str | None:
            state_event = state.get(ids.get(what, ""))
            value = None if state_event is None else state_event.content.get(key)
            return value if isinstance(value, str) and value else None

        return EventDetails(
            event_id=event.event_id,
            room_id=room_id,
            type=event.type,
            sender=event.sender,
            state_key=event.state_key,
            content=event.content,
            sender_display_name=field("member", "displayname"),
            room_name=field("name", "name"),
            room_alias=field("alias", "alias"),
        )
