"""The webhooks bridge's AS handler: the bot joins when invited, answers
``!webhook`` commands, and hands room messages to the outgoing hooks.

Commands (from a member whose power level is at least
``command_power_level``): ``!webhook new`` answers with a new incoming hook URL
for the room; ``!webhook revoke <url or token>`` disables one.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from chatly_bridge_kit.matrix import MatrixClient, MatrixError
from chatly_bridge_kit.registration import Registration
from chatly_bridge_kit.state import BridgeState

from chatly_webhooks_bridge.config import WebhooksConfig
from chatly_webhooks_bridge.outgoing import OutgoingSender
from chatly_webhooks_bridge.tokens import create_hook, revoke_hook, room_for_token

logger = logging.getLogger(__name__)

COMMAND = "!webhook"


class WebhooksBridge:
    """Implements the kit's ``AppServiceHandler``."""

    def __init__(
        self,
        *,
        config: WebhooksConfig,
        registration: Registration,
        client: MatrixClient,
        state: BridgeState,
        outgoing: OutgoingSender,
    ) -> None:
        self._config = config
        self._registration = registration
        self._client = client
        self._state = state
        self._outgoing = outgoing

    async def on_event(self, event: dict[str, Any]) -> None:
        content = event.get("content") or {}
        room_id = str(event.get("room_id", ""))
        sender = str(event.get("sender", ""))
        if event.get("type") == "m.room.member":
            if (
                event.get("state_key") == self._client.bot_user_id
                and content.get("membership") == "invite"
            ):
                await self._client.join(room_id)
            return
        if event.get("type") != "m.room.message" or self._registration.is_our_user(
            sender
        ):
            return
        body = content.get("body")
        if isinstance(body, str) and body.split(maxsplit=1)[:1] == [COMMAND]:
            await self._command(room_id, sender, body.split()[1:])
            return
        self._outgoing.dispatch(event)

    async def _reply(self, room_id: str, text: str) -> None:
        await self._client.send(room_id, {"msgtype": "m.notice", "body": text})

    async def _power_level(self, room_id: str, user_id: str) -> int:
        try:
            levels = await self._client.request(
                "GET",
                f"/_matrix/client/v3/rooms/{quote(room_id)}/state/m.room.power_levels",
            )
        except MatrixError:
            return 0
        users = levels.get("users") or {}
        return int(users.get(user_id, levels.get("users_default", 0)))

    async def _command(self, room_id: str, sender: str, args: list[str]) -> None:
        if await self._power_level(room_id, sender) < self._config.command_power_level:
            await self._reply(room_id, "Only room moderators can manage webhooks.")
            return
        if args[:1] == ["new"]:
            token = create_hook(self._state, room_id)
            await self._reply(
                room_id,
                f"New incoming webhook for this room: {self._config.hooks_base}{token}\n"
                'POST JSON {"text": "...", "username": "..."} to it.',
            )
        elif args[:1] == ["revoke"] and len(args) == 2:
            token = args[1].rsplit("/", 1)[-1]
            if room_for_token(self._state, token) == room_id and revoke_hook(
                self._state, token
            ):
                await self._reply(room_id, "Webhook revoked.")
            else:
                await self._reply(room_id, "No such webhook in this room.")
        else:
            await self._reply(room_id, "Usage: !webhook new | !webhook revoke <url>")

    async def query_user(self, user_id: str) -> bool:
        if not self._registration.is_our_user(user_id):
            return False
        await self._client.ensure_registered(user_id[1:].split(":", 1)[0])
        return True

    async def query_alias(self, alias: str) -> bool:
        return False
