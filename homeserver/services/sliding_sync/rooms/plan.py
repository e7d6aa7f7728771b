"""How a sliding-sync room entry is built (pure): whole or as changes,
with a grown timeline, up to which position, and which config the
connection remembers afterwards (MSC4186 "Changing room configs")."""

from __future__ import annotations

import attrs

from homeserver.events.model import Membership
from homeserver.services.sliding_sync.model import RoomConfig, RoomRequest
from homeserver.services.sliding_sync.rooms.timeline import RoomTimeline
from homeserver.types import JsonDict


@attrs.frozen
class Plan:
    """How one joined or left room's entry is built."""

    initial: bool
    expanded: bool
    old: RoomConfig | None
    upto: int
    since: int | None


def plan_room(req: RoomRequest, memory: JsonDict) -> Plan:
    """How the room's entry is built, from the request and the memory."""
    joined = req.membership == Membership.JOIN
    was = memory.get("m")
    old_json = memory.get("config")
    old = RoomConfig.from_json(old_json) if old_json is not None else None
    # A (re)join sends the room whole, as Synapse does for newly joined.
    initial = req.since is None or old is None or (joined and was != Membership.JOIN)
    expanded = (
        not initial
        and old is not None
        and req.config.timeline_limit > old.timeline_limit
    )
    upto = req.upto.events if joined else min(req.upto.events, req.membership_stream)
    # A room left since it was last sent continues from then, but never
    # past the user's membership event.
    since = None if initial or req.since is None else min(req.since.events, upto)
    return Plan(initial, expanded, None if initial else old, upto, since)


def keep_config(
    config: RoomConfig, plan: Plan, timeline: RoomTimeline | None
) -> RoomConfig:
    """The config to remember: the union of what the room was sent with,
    except that a smaller ``timeline_limit`` whose timeline had a gap is
    remembered (the client misses the older events; a larger limit later
    sends them, as Synapse)."""
    old = plan.old
    if old is None:
        return config
    limit = max(old.timeline_limit, config.timeline_limit)
    if timeline is not None and timeline.limited:
        limit = config.timeline_limit
    return RoomConfig(limit, old.required_state.combine(config.required_state))
