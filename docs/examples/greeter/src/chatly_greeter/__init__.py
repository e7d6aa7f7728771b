"""chatly-greeter: welcomes whoever joins a room its bot is in, and counts them.

The example plugin of docs/plugins.md ("A complete small plugin"). It joins
the rooms its bot is invited to, greets each new member, remembers whom it
greeted in its key-value store, and serves the count at
``GET /_chatly/plugins/greeter/rooms/{room_id}/count`` to logged-in users.
"""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.plugins import hookimpl
from homeserver.plugins.api import PluginAPI, PluginError, PluginRequest


@attrs.frozen(kw_only=True)
class GreeterConfig:
    """The greeter's settings (``plugins.load[].config``)."""

    message: str = "Welcome, {name}!"
    """The greeting; ``{name}`` is the new member's user ID."""


class Greeter:
    CONFIG = GreeterConfig

    def __init__(self, api: PluginAPI, config: GreeterConfig) -> None:
        self.api = api
        self.config = config
        # Routes may be registered at once; the database is not ready until
        # chatly_startup, so nothing here reads or writes the store.
        api.register_route(
            "GET", "/rooms/{room_id}/count", self.count, require_auth=True
        )

    @hookimpl
    async def chatly_startup(self) -> None:
        await self.api.ensure_bot_user()
        self.api.logger.info("greeter ready as %s", self.api.bot_user_id)

    @hookimpl
    async def chatly_on_membership_change(
        self, room_id: str, user_id: str, membership: str, event: dict[str, Any]
    ) -> None:
        bot = self.api.bot_user_id
        if user_id == bot:
            if membership == "invite":
                await self.api.join_room(room_id)
            return
        if membership != "join" or bot not in await self.api.get_members(room_id):
            return
        key = f"member/{room_id}/{user_id}"
        if await self.api.kv_get(key) is not None:
            return  # greeted before (a rejoin, or a profile change)
        await self.api.kv_set(key, {"joined_ts": self.api.time_msec()})
        await self.api.send_message(
            room_id, self.config.message.format(name=user_id), msgtype="m.notice"
        )

    async def count(self, request: PluginRequest) -> dict[str, Any]:
        room_id = request.path_params["room_id"]
        assert request.user is not None  # require_auth=True
        if request.user.user_id not in await self.api.get_members(room_id):
            raise PluginError(403, "You are not in this room", "M_FORBIDDEN")
        greeted = await self.api.kv_list(f"member/{room_id}/")
        return {"room_id": room_id, "count": len(greeted)}
