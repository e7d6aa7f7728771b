"""The ``typing`` extension (MSC4508, which superseded MSC3961): ``m.typing``
events of the joined rooms in scope.

Request: ``{enabled, lists?, rooms?}``. Response: ``{rooms: {room ID:
{type: "m.typing", content: {user_ids}}}}``; ``user_ids`` is the complete
list, replacing what the client had. A room entering scope (first response,
newly in a list's range or subscribed, or back after dropping out) gets its
current typists when someone is typing; a room in scope since the previous
response gets them when they changed. Rooms the user is not joined to get
nothing. A change ends a long-poll. The memory is the rooms in scope.
"""

from __future__ import annotations

from homeserver.events.model import Membership
from homeserver.services.sliding_sync.extensions.context import (
    ExtensionAnswer,
    ExtensionContext,
)
from homeserver.services.sliding_sync.extensions.scope import (
    check_common,
    rooms_in_scope,
)
from homeserver.services.sync.sources import TypingSource
from homeserver.streams.registry import TYPING
from homeserver.types import JsonDict

TYPING_EVENT = "m.typing"


class TypingExtension:
    """Typists of the rooms in scope.

    Args:
        source: the /sync typing source.
    """

    key = "typing"

    def __init__(self, source: TypingSource) -> None:
        self.source = source

    def check(self, config: JsonDict) -> None:
        check_common(self.key, config, per_room=True)

    async def compute(self, ctx: ExtensionContext, config: JsonDict) -> ExtensionAnswer:
        scope = [
            r
            for r in rooms_in_scope(ctx, config)
            if ctx.memberships.get(r) == Membership.JOIN
        ]
        before = set()
        if ctx.since is not None and ctx.memory is not None:
            before = set(ctx.memory.get("scope", ()))
        entering = [r for r in scope if r not in before]
        staying = [r for r in scope if r in before]
        found = self.source.get_typing_for_rooms(entering, None)
        if staying and ctx.since is not None:
            since = ctx.since.get(TYPING.name)
            if since != ctx.upto.get(TYPING.name):
                found.update(self.source.get_typing_for_rooms(staying, since))
        body = {
            "rooms": {
                room_id: {"type": TYPING_EVENT, "content": content}
                for room_id, content in found.items()
            }
        }
        memory = None
        if set(scope) != before or ctx.memory is None:
            memory = {"scope": sorted(scope)}
        return ExtensionAnswer(body, memory, news=bool(found))
