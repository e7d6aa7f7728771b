"""A sliding-sync entry for an invite or a knock (MSC4186,
"Invite/knock/rejections"): the stripped state only, once per membership
event, and the ``name`` and ``avatar`` that stripped state names.

Nothing else of the room is shown: the user is not in it (and for a remote
invite the server has nothing else). The membership event comes last,
stripped like the rest (type, state_key, content, sender), as Synapse sends it.
"""

from __future__ import annotations

from homeserver.events.model import EventTypes
from homeserver.services.sliding_sync.model import RoomAnswer, RoomRequest
from homeserver.services.sync.sync_rooms import RoomSyncBuilder
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict

_STRIPPED_FIELDS = ("type", "state_key", "content", "sender")
_NAMING = ((EventTypes.NAME, "name", "name"), (EventTypes.AVATAR, "avatar", "url"))


async def stripped_entry(
    rooms: RoomSyncBuilder,
    room_state: RoomStateStore,
    user_id: str,
    req: RoomRequest,
) -> RoomAnswer:
    """The entry of an invited or knocked room (None once sent)."""
    memory = req.memory or {}
    new_memory = {
        "config": req.config.to_json(),
        "m": req.membership,
        "ms": req.membership_stream,
    }
    if (
        req.since is not None
        and memory.get("ms") == req.membership_stream
        and memory.get("m") == req.membership
    ):
        return RoomAnswer(None, new_memory)
    result: JsonDict = {"initial": True}
    state: list[JsonDict] = []
    member = await room_state.get_membership(req.room_id, user_id)
    if member is not None:
        full = await rooms.stripped_state(req.room_id, member[1])
        state = [{k: e[k] for k in _STRIPPED_FIELDS if k in e} for e in full]
    for event in state:
        for event_type, field, key in _NAMING:
            if event.get("type") == event_type and event.get("state_key") == "":
                value = (event.get("content") or {}).get(key)
                if isinstance(value, str) and value:
                    result[field] = value
    if state:
        # Synapse's name, and the merged MSC's.
        result["invite_state"] = state
        result["stripped_state"] = state
    result["notification_count"] = 0
    result["highlight_count"] = 0
    return RoomAnswer(result, new_memory)
