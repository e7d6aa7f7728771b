"""What incremental /sync needs to know about new events, kept in memory.

Three change caches, fed by ``event_persisted`` before each new position is
visible (so they are never behind what a reader can see): rooms with new
events, users whose membership changed, and rooms where someone's did (for
``device_lists``: who newly shares, or no longer shares, a room). And the wake-ups of waiting syncs
when an event becomes visible (``new_event``, ``membership_changed``).
"""

from __future__ import annotations

from homeserver.events.model import EventTypes
from homeserver.signals import EventPersisted, MembershipChanged, NewEvent
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import EVENTS
from homeserver.util.stream_change_cache import StreamChangeCache


class SyncChanges:
    """The events stream's change caches and wake-ups.

    Args:
        notifier: woken for new events.
    """

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.rooms = StreamChangeCache("room_events", 0)
        self.memberships = StreamChangeCache("memberships", 0)
        self.member_rooms = StreamChangeCache("member_rooms", 0)

    def start(self, position: int) -> None:
        """Changes before ``position`` (server start) are unknown to the
        caches: they answer "maybe" for them."""
        self.rooms.earliest_known = position
        self.memberships.earliest_known = position
        self.member_rooms.earliest_known = position

    def on_event_persisted(self, persisted: EventPersisted) -> None:
        """``event_persisted`` receiver (sync, before the position is visible)."""
        event = persisted.event
        member = event.state_key if event.type == EventTypes.MEMBER else None
        self.record(event.room_id, persisted.stream_ordering, member or None)

    def record(self, room_id: str, position: int, member: str | None) -> None:
        """An event at ``position`` in ``room_id``; ``member``: the user whose
        membership it sets, if it is a member event (also what replication
        feeds from the events stream's writers)."""
        self.rooms.entity_has_changed(room_id, position)
        if member:
            self.memberships.entity_has_changed(member, position)
            self.member_rooms.entity_has_changed(room_id, position)

    def on_new_event(self, new: NewEvent) -> None:
        """``new_event`` receiver: wake the room's syncs."""
        self.notifier.notify(EVENTS.name, rooms=[new.event.room_id])

    def on_membership_changed(self, change: MembershipChanged) -> None:
        """``membership_changed`` receiver: wake the member's syncs (they may
        not be in the room's wake-up list yet, or any more)."""
        self.notifier.notify(EVENTS.name, users=[change.user_id])
