"""The body of a transaction to an application service, built from the head
of its queue.

Spec: application-service API v1.19, ``PUT /transactions/{txnId}``: ``events``
in the client format, ``ephemeral`` (MSC2409, stable in v1.13). To-device
messages (MSC2409/MSC4203) and the MSC3202 fields are sent under the names
Synapse sends, unstable and stable alike, so bridges of either generation
find them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence

import attrs

from homeserver.events.model import Event
from homeserver.services.appservices.outbound.target import AppServiceTarget
from homeserver.storage.stores.appservice_outbox import ItemKind, QueuedItem
from homeserver.storage.stores.events import EventStore
from homeserver.types import JsonDict

# Spec-free limits, as Synapse's: per transaction at most this many of each.
MAX_EVENTS = 100
MAX_EPHEMERAL = 100
MAX_TO_DEVICE = 100

EPHEMERAL_KEYS = ("ephemeral", "de.sorunome.msc2409.ephemeral")
TO_DEVICE_KEYS = ("to_device", "de.sorunome.msc2409.to_device")
DEVICE_LISTS_KEY = "org.matrix.msc3202.device_lists"
OTK_COUNT_KEYS = (
    "org.matrix.msc3202.device_one_time_keys_count",
    # The name Synapse sent first (a typo kept for old bridges).
    "org.matrix.msc3202.device_one_time_key_counts",
)
FALLBACK_KEY = "org.matrix.msc3202.device_unused_fallback_key_types"

Serialize = Callable[[Sequence[Event]], Awaitable[list[JsonDict]]]
"""Events -> their client format."""
KeyCounts = Callable[
    [Collection[str]], Awaitable[tuple[dict[str, JsonDict], dict[str, JsonDict]]]
]
"""User IDs -> (user -> device -> algorithm -> one-time key count,
user -> device -> [unused fallback key algorithms])."""


@attrs.frozen
class BodyBuilder:
    """Builds transaction bodies.

    Args:
        events: to read queued events.
        serialize: events in the client format, as every client gets them
            (``prev_content``, a redacted event's ``redacted_because``).
        key_counts: the MSC3202 key counts of users' devices.
    """

    events: EventStore
    serialize: Serialize
    key_counts: KeyCounts | None = None

    async def build(
        self, service: AppServiceTarget, items: Sequence[QueuedItem]
    ) -> tuple[list[int], JsonDict]:
        """The IDs of the leading ``items`` one transaction carries, and its
        body."""
        taken = take(items)
        found = await self.events.get_events(
            [i.event_id for i in taken if i.kind == ItemKind.EVENT and i.event_id]
        )
        in_order = [
            found[i.event_id]
            for i in taken
            if i.kind == ItemKind.EVENT and i.event_id in found
        ]
        events = await self.serialize(in_order)
        ephemeral: list[JsonDict] = []
        to_device: list[JsonDict] = []
        changed: set[str] = set()
        left: set[str] = set()
        for item in taken:
            if item.kind == ItemKind.EPHEMERAL and item.content is not None:
                ephemeral.append(item.content)
            elif item.kind == ItemKind.TO_DEVICE and item.content is not None:
                to_device.append(item.content)
            elif item.kind == ItemKind.DEVICE_LISTS and item.content is not None:
                changed.update(item.content.get("changed", ()))
                left.update(item.content.get("left", ()))
        body: JsonDict = {"events": events}
        if ephemeral:
            for key in EPHEMERAL_KEYS:
                body[key] = ephemeral
        if to_device:
            for key in TO_DEVICE_KEYS:
                body[key] = to_device
        if service.msc3202:
            await self._msc3202(service, body, events, to_device, changed, left)
        return [i.item_id for i in taken], body

    async def _msc3202(
        self,
        service: AppServiceTarget,
        body: JsonDict,
        events: list[JsonDict],
        to_device: list[JsonDict],
        changed: set[str],
        left: set[str],
    ) -> None:
        """Device-list changes, and the key counts of the AS's users that the
        transaction concerns (as Synapse: senders of its events, to-device
        recipients, users whose devices changed)."""
        if changed or left:
            body[DEVICE_LISTS_KEY] = {
                "changed": sorted(changed - left),
                "left": sorted(left),
            }
        if self.key_counts is None:
            return
        users = {e.get("sender", "") for e in events}
        users.update(m.get("to_user_id", "") for m in to_device)
        users.update(changed)
        users = {u for u in users if u and service.is_interested_in_user(u)}
        if not users:
            return
        counts, fallback = await self.key_counts(sorted(users))
        for key in OTK_COUNT_KEYS:
            body[key] = counts
        body[FALLBACK_KEY] = fallback


def take(items: Sequence[QueuedItem]) -> list[QueuedItem]:
    """The leading items one transaction carries: in order, up to the first
    that would pass a per-kind limit."""
    limits = {
        ItemKind.EVENT: MAX_EVENTS,
        ItemKind.EPHEMERAL: MAX_EPHEMERAL,
        ItemKind.TO_DEVICE: MAX_TO_DEVICE,
    }
    counts: dict[str, int] = {}
    taken = []
    for item in items:
        count = counts.get(item.kind, 0) + 1
        if count > limits.get(item.kind, MAX_EPHEMERAL):
            break
        counts[item.kind] = count
        taken.append(item)
    return taken
