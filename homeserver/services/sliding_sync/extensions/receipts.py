"""The ``receipts`` extension (MSC3960): ``m.receipt`` events of the joined
rooms in scope.

Request: ``{enabled, lists?, rooms?}``. Response: ``{rooms: {room ID:
{type: "m.receipt", content}}}``, ``content`` as in /sync's ephemeral events.
A room new to scope, or sent from scratch in this response (``initial``, an
expanded timeline), gets the receipts on the events of its timeline in this
response and the user's own receipts, not every member's (a large room would
bloat the response; Synapse does the same; and only those are read); then
the receipts that changed. A room back in scope gets those it missed
(``room_progress.py``). Other users' private receipts never appear. Rooms the
user is not joined to get nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from homeserver.events.model import Membership
from homeserver.services.sliding_sync.extensions.context import (
    ExtensionAnswer,
    ExtensionContext,
)
from homeserver.services.sliding_sync.extensions.room_progress import progress
from homeserver.services.sliding_sync.extensions.scope import (
    check_common,
    rooms_in_scope,
)
from homeserver.services.sync.sources import ReceiptSource
from homeserver.streams.registry import RECEIPTS
from homeserver.types import JsonDict

RECEIPT = "m.receipt"


def _sent_from_scratch(room: JsonDict | None) -> bool:
    return room is not None and bool(
        room.get("initial")
        or room.get("expanded_timeline")
        or room.get("unstable_expanded_timeline")
    )


class ReceiptsExtension:
    """Receipts of the rooms in scope.

    Args:
        source: the /sync receipts source.
    """

    key = "receipts"

    def __init__(self, source: ReceiptSource) -> None:
        self.source = source

    def check(self, config: JsonDict) -> None:
        check_common(self.key, config, per_room=True)

    async def compute(self, ctx: ExtensionContext, config: JsonDict) -> ExtensionAnswer:
        joined = {r for r, m in ctx.memberships.items() if m == Membership.JOIN}
        scope = [r for r in rooms_in_scope(ctx, config) if r in joined]
        upto = ctx.upto.get(RECEIPTS.name)

        async def fetch(rooms: Collection[str], since: int | None) -> Mapping[str, Any]:
            if since is not None:
                return await self.source.get_receipts_for_rooms(
                    ctx.user_id, rooms, since, upto
                )
            timelines = {
                room_id: [
                    e["event_id"]
                    for e in ctx.response_rooms.get(room_id, {}).get("timeline", ())
                    if "event_id" in e
                ]
                for room_id in rooms
            }
            return await self.source.get_receipts_on_events(
                ctx.user_id, timelines, upto
            )

        fresh = [r for r in scope if _sent_from_scratch(ctx.response_rooms.get(r))]
        rooms = await progress(
            ctx.memory,
            scope,
            joined,
            None if ctx.since is None else ctx.since.get(RECEIPTS.name),
            upto,
            fetch,
            fresh,
        )
        body = {
            "rooms": {
                room_id: {"type": RECEIPT, "content": content}
                for room_id, content in rooms.rooms.items()
            }
        }
        return ExtensionAnswer(body, rooms.memory, news=bool(rooms.rooms))
