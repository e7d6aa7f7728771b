"""The spaces domain: room summaries and the space hierarchy walk."""

from __future__ import annotations

import attrs

from homeserver.composition.core import Core
from homeserver.services.spaces.hierarchy import SpaceHierarchyService
from homeserver.services.spaces.summary import RoomSummaries
from homeserver.storage.stores.hierarchy_sessions import HierarchySessionStore


@attrs.frozen(kw_only=True)
class SpacesBundle:
    """Spaces."""

    summaries: RoomSummaries
    hierarchy: SpaceHierarchyService

    @classmethod
    def build(cls, *, core: Core) -> SpacesBundle:
        summaries = RoomSummaries(core.server_name, core.room_state, core.events)
        return cls(
            summaries=summaries,
            hierarchy=SpaceHierarchyService(
                server_name=core.server_name,
                summaries=summaries,
                sessions=HierarchySessionStore(core.db),
                clock=core.clock,
                ratelimiter=core.ratelimiter,
                rate=core.config.rate_limiting.room_hierarchy,
            ),
        )
