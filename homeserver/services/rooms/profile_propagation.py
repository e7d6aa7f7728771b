"""A local user's new display name or avatar, sent into every joined room.

Spec: client-server API, "Profiles" ("Events on Change of Profile
Information"): when a user changes their display name or avatar URL the
server updates the ``m.room.member`` event of every room they are joined to.
As Synapse does, the update is a new join event (join -> join) whose content
is the membership and the user's global profile; events are made locally, so
the federation sender takes them to the other servers in each room.
"""

from __future__ import annotations

import logging

from homeserver.errors import MatrixError
from homeserver.events.model import EventTypes, Membership
from homeserver.services.rooms.event_creation import EventCreationService
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.profiles import ProfileStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)

PROFILE_KEYS = ("displayname", "avatar_url")


class ProfilePropagator:
    """Sends a local user's profile into their joined rooms.

    Args:
        creator: makes the member events.
        room_state: the user's joined rooms and current member events.
        events: reads the current member events.
        profiles: the user's global profile.
    """

    def __init__(
        self,
        creator: EventCreationService,
        room_state: RoomStateStore,
        events: EventStore,
        profiles: ProfileStore,
    ) -> None:
        self.creator = creator
        self.room_state = room_state
        self.events = events
        self.profiles = profiles

    async def propagate(self, user_id: str) -> None:
        """Update ``user_id``'s member event in each joined room whose event
        does not already carry the user's profile. A room that refuses the
        update (the auth rules, a room being left) is logged and skipped, as
        Synapse does: the profile change itself stands."""
        profile = await self.profiles.get_profile(user_id) or {}
        wanted: JsonDict = {"membership": Membership.JOIN}
        for key in PROFILE_KEYS:
            if isinstance(profile.get(key), str):
                wanted[key] = profile[key]
        for room_id in sorted(await self.room_state.get_rooms_for_user(user_id)):
            try:
                await self._update_room(room_id, user_id, wanted)
            except MatrixError as e:
                logger.warning(
                    "Could not update member event for a profile change",
                    extra={"room_id": room_id, "user_id": user_id, "error": e.msg},
                )

    async def _update_room(self, room_id: str, user_id: str, wanted: JsonDict) -> None:
        current = await self.room_state.get_membership(room_id, user_id)
        if current is None or current[0] != Membership.JOIN:
            return
        event = await self.events.get_event(current[1])
        if event is not None and all(
            event.content.get(k) == wanted.get(k) for k in PROFILE_KEYS
        ):
            return
        await self.creator.send(
            room_id, user_id, EventTypes.MEMBER, dict(wanted), user_id
        )
