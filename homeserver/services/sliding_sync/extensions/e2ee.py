"""The ``e2ee`` extension (MSC3884): what /sync gives an end-to-end
encrypting device outside rooms.

Request: ``{enabled}``. Response: ``device_one_time_keys_count`` and
``device_unused_fallback_key_types`` always (clients cannot tell "unchanged"
from "none left" otherwise; Synapse does the same), and on an incremental
response ``device_lists: {changed, left}`` since the connection's previous
position. Only device list changes end a long-poll.
"""

from __future__ import annotations

from homeserver.events.model import Membership
from homeserver.services.sliding_sync.extensions.context import (
    ExtensionAnswer,
    ExtensionContext,
)
from homeserver.services.sliding_sync.extensions.scope import check_common
from homeserver.services.sync.changes import SyncChanges
from homeserver.services.sync.sources import DeviceListSource, E2eKeysSource
from homeserver.streams.registry import DEVICE_LISTS
from homeserver.types import JsonDict


class E2eeExtension:
    """Device list changes and the device's key counts.

    Args:
        device_lists: the /sync device_lists source.
        keys: the /sync key-count source.
        changes: the events stream's change caches (did memberships move?).
    """

    key = "e2ee"

    def __init__(
        self, device_lists: DeviceListSource, keys: E2eKeysSource, changes: SyncChanges
    ) -> None:
        self.device_lists = device_lists
        self.keys = keys
        self.changes = changes

    def check(self, config: JsonDict) -> None:
        check_common(self.key, config, per_room=False)

    def _members_moved(self, ctx: ExtensionContext, since: int) -> bool:
        """Whether a membership of the user, or in one of their joined rooms,
        changed since ``since`` (True when the caches cannot tell)."""
        if self.changes.memberships.has_entity_changed(ctx.user_id, since):
            return True
        joined = {r for r, m in ctx.memberships.items() if m == Membership.JOIN}
        moved = self.changes.member_rooms.changed_entities(joined, since)
        return moved is None or bool(moved)

    async def compute(self, ctx: ExtensionContext, config: JsonDict) -> ExtensionAnswer:
        body: JsonDict = {}
        news = False
        if ctx.since is not None:
            since, upto = ctx.since, ctx.upto
            moved = self._members_moved(ctx, since.events)
            changed, left = await self.device_lists.get_changes(
                ctx.user_id,
                since.get(DEVICE_LISTS.name),
                upto.get(DEVICE_LISTS.name),
                since.events,
                upto.events if moved else since.events,
            )
            body["device_lists"] = {"changed": changed, "left": left}
            news = bool(changed or left)
        counts: dict[str, int] = {}
        fallback: list[str] = []
        if ctx.device_id is not None:
            counts, fallback = await self.keys.key_counts(ctx.user_id, ctx.device_id)
        body["device_one_time_keys_count"] = counts
        body["device_unused_fallback_key_types"] = fallback
        return ExtensionAnswer(body, news=news)
