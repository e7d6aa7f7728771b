"""A minimal room builder behind the SlidingRoomBuilder interface (Contract A).

It stands in until the full builder (``rooms.py``) lands: timeline with
``limited``/``prev_batch``, ``required_state`` from the current state,
``name``, member counts, ``invite_state``. Incremental answers carry only new
timeline events.
"""

from __future__ import annotations

from typing import Protocol

from homeserver.events.model import EventTypes, Membership
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.filters import Filter, parse_filter
from homeserver.services.sliding_sync.model import RoomAnswer, RoomConfig, RoomRequest
from homeserver.services.sync.sync_rooms import RoomSyncBuilder, SyncRequestInfo
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict


class RoomBuilder(Protocol):
    """What the service calls for each room it sends (Contract A)."""

    async def build(
        self, requester: Requester, req: RoomRequest
    ) -> RoomAnswer: ...  # pragma: no cover


class BasicRoomBuilder:
    """Timeline, required state, name and counts of one room."""

    def __init__(self, rooms: RoomSyncBuilder, room_state: RoomStateStore) -> None:
        self.rooms = rooms
        self.room_state = room_state

    async def build(self, requester: Requester, req: RoomRequest) -> RoomAnswer:
        user_id = requester.user_id
        memory = {"config": req.config.to_json()}
        old = (req.memory or {}).get("config")
        # A stand-in: an expanded config sends the room whole again.
        expanded = old is not None and req.config.expands(RoomConfig.from_json(old))
        initial = req.since is None or expanded
        result: JsonDict = {"initial": True} if initial else {}
        if req.membership in (Membership.INVITE, Membership.KNOCK):
            if initial:
                member = await self.room_state.get_membership(req.room_id, user_id)
                if member is not None:
                    result["invite_state"] = await self.rooms.stripped_state(
                        req.room_id, member[1]
                    )
            return RoomAnswer(result if initial else None, memory)
        limit = req.config.timeline_limit
        info = SyncRequestInfo(requester, _filter(limit), False)
        start = None if initial or req.since is None else req.since.events
        # A room the user left or was banned from shows nothing after that.
        joined = req.membership == Membership.JOIN
        upto = (
            req.upto.events if joined else min(req.upto.events, req.membership_stream)
        )
        sections = await self.rooms.sections(info, {req.room_id: start}, upto)
        section = sections.get(req.room_id)
        if section is not None and (initial or section.timeline.events):
            timeline = section.timeline
            result["timeline"] = await self.rooms.serialize(info, timeline.events)
            result["limited"] = timeline.limited
            result["prev_batch"] = timeline.prev_batch.to_string()
            result["num_live"] = 0 if initial else len(timeline.events)
        if initial and joined:
            await self._initial_fields(info, req, result)
        elif not initial and "timeline" not in result:
            return RoomAnswer(None, memory)
        return RoomAnswer(result, memory)

    async def _initial_fields(
        self, info: SyncRequestInfo, req: RoomRequest, result: JsonDict
    ) -> None:
        wanted = req.config.required_state.for_user(info.user_id)
        ids = await self.room_state.get_current_state_ids(req.room_id)
        chosen = [eid for (t, k), eid in sorted(ids.items()) if wanted.matches(t, k)]
        found = await self.rooms.events.get_events(list(ids.values()))
        result["required_state"] = await self.rooms.serialize(
            info, [found[e] for e in chosen if e in found]
        )
        name_event = found.get(ids.get((EventTypes.NAME, ""), ""))
        name = name_event.content.get("name") if name_event else None
        if isinstance(name, str) and name:
            result["name"] = name
        summary = (await self.rooms.summaries([req.room_id], info.user_id)).get(
            req.room_id, {}
        )
        result["joined_count"] = summary.get("m.joined_member_count", 0)
        result["invited_count"] = summary.get("m.invited_member_count", 0)
        if "m.heroes" in summary:
            result["heroes"] = [{"user_id": u} for u in summary["m.heroes"]]


def _filter(limit: int) -> Filter:
    return parse_filter(Filter, {"room": {"timeline": {"limit": limit}}})
