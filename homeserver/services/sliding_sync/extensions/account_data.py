"""The ``account_data`` extension (MSC3959): the user's global account data
and the per-room account data (tags included, as ``m.tag``) of the rooms in
scope.

Request: ``{enabled, lists?, rooms?}`` (scope: ``scope.py``). Response:
``{global: [events], rooms: {room ID: [events]}}`` with every event on the
first response (``m.push_rules`` too, as the source has it for /sync), then
only what changed. Per room, a room new to scope gets all of its account
data and a room back in scope what it missed (``room_progress.py``). Any of
it ends a long-poll.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from homeserver.services.sliding_sync.extensions.context import (
    ExtensionAnswer,
    ExtensionContext,
)
from homeserver.services.sliding_sync.extensions.room_progress import progress
from homeserver.services.sliding_sync.extensions.scope import (
    check_common,
    rooms_in_scope,
)
from homeserver.services.sync.sources import AccountDataSource
from homeserver.streams.registry import ACCOUNT_DATA
from homeserver.types import JsonDict


class AccountDataExtension:
    """Global and per-room account data.

    Args:
        source: the /sync account_data source (``m.push_rules`` included).
    """

    key = "account_data"

    def __init__(self, source: AccountDataSource) -> None:
        self.source = source

    def check(self, config: JsonDict) -> None:
        check_common(self.key, config, per_room=True)

    async def _global(self, ctx: ExtensionContext, first: bool) -> list[JsonDict]:
        upto = ctx.upto.get(ACCOUNT_DATA.name)
        since = None
        if not first and ctx.since is not None:
            since = ctx.since.get(ACCOUNT_DATA.name)
            if since >= upto:
                return []
        return await self.source.get_global_account_data(ctx.user_id, since, upto)

    async def compute(self, ctx: ExtensionContext, config: JsonDict) -> ExtensionAnswer:
        # No memory yet: the first response, or the extension was just
        # enabled on this connection; either way the client gets everything.
        first = ctx.memory is None
        global_events = await self._global(ctx, first)

        async def fetch(rooms: Collection[str], since: int | None) -> Mapping[str, Any]:
            return await self.source.get_room_account_data(
                ctx.user_id, rooms, since, ctx.upto.get(ACCOUNT_DATA.name)
            )

        rooms = await progress(
            ctx.memory,
            rooms_in_scope(ctx, config),
            ctx.memberships,
            None if ctx.since is None else ctx.since.get(ACCOUNT_DATA.name),
            ctx.upto.get(ACCOUNT_DATA.name),
            fetch,
        )
        body = {"global": global_events, "rooms": rooms.rooms}
        news = bool(global_events or rooms.rooms)
        return ExtensionAnswer(body, rooms.memory, news)
