"""The plugin class: hooks in, replies out, through the ``PluginAPI`` only.

- ``chatly_startup``: create the bot user, schedule the stored reminders.
- ``chatly_on_membership_change``: the bot joins every room it is invited to.
- ``chatly_on_new_event``: a message that starts with the prefix is a
  command; the answer is an ``m.notice`` replying to it (``m.in_reply_to``,
  inside the thread when the command was in one).
"""

from __future__ import annotations

from typing import Any

from chatly_commandbot import commands
from chatly_commandbot.commands import CommandError
from chatly_commandbot.config import CommandBotConfig
from chatly_commandbot.reminders import Reminders, thread_root
from homeserver.plugins import hookimpl
from homeserver.plugins.api import PluginError

MESSAGE = "m.room.message"


class CommandBot:
    """The command bot (plugins/commandbot/README.md)."""

    CONFIG = CommandBotConfig

    def __init__(self, api: Any, config: CommandBotConfig | None) -> None:
        self.api = api
        self.config = config or CommandBotConfig()
        self.reminders = Reminders(api, self.config, self._send_reminder)

    # ---- hooks -----------------------------------------------------------

    @hookimpl
    async def chatly_startup(self) -> None:
        if not self.api.runs_background_tasks:
            # Another process of the deployment restores the reminders
            # (and creates the bot); this one still answers commands.
            return
        await self.api.ensure_bot_user()
        count = await self.reminders.restore()
        self.api.logger.info(
            "command bot %s ready, %d reminders pending", self.api.bot_user_id, count
        )

    @hookimpl
    def chatly_shutdown(self) -> None:
        self.reminders.cancel_all()

    @hookimpl
    async def chatly_on_membership_change(
        self, room_id: str, user_id: str, membership: str
    ) -> None:
        if user_id != self.api.bot_user_id or membership != "invite":
            return
        try:
            await self.api.join_room(room_id)
        except PluginError as exc:
            self.api.logger.info("cannot join %s: %s", room_id, exc.message)

    @hookimpl
    async def chatly_on_new_event(self, event: dict[str, Any]) -> None:
        if event.get("type") != MESSAGE or "state_key" in event:
            return
        if event.get("sender") == self.api.bot_user_id:
            return
        content = event.get("content") or {}
        body = content.get("body")
        if not isinstance(body, str) or content.get("msgtype") != "m.text":
            return
        command = commands.split_command(body, self.config.prefix)
        if command is None:
            return
        try:
            answer = await self.run(event, *command)
        except CommandError as exc:
            answer = str(exc)
        if answer is not None:
            await self._reply(
                event["room_id"], event["event_id"], thread_root(event), answer
            )

    # ---- commands --------------------------------------------------------

    async def run(self, event: dict[str, Any], name: str, args: str) -> str | None:
        """The answer to command ``name`` (None: not one of ours, stay quiet)."""
        if name == "help":
            return commands.help_text(self.config)
        if name == "ping":
            return "pong"
        if name == "echo":
            return commands.echo(args, self.config)
        if name == "roll":
            return commands.roll(args, self.config)
        if name == "remind":
            return await self.reminders.add(event, args)
        return None

    async def _send_reminder(self, entry: dict[str, Any]) -> None:
        user_id = entry["user_id"]
        await self._reply(
            entry["room_id"],
            entry["event_id"],
            entry.get("thread_root"),
            f"{user_id}: reminder: {entry['text']}",
            mentions=[user_id],
        )

    async def _reply(
        self,
        room_id: str,
        event_id: str,
        root: str | None,
        text: str,
        mentions: list[str] | None = None,
    ) -> None:
        relates: dict[str, Any] = {"m.in_reply_to": {"event_id": event_id}}
        if root is not None:
            relates.update(rel_type="m.thread", event_id=root, is_falling_back=False)
        content = {
            "msgtype": "m.notice",
            "body": text,
            "m.relates_to": relates,
            "m.mentions": {"user_ids": mentions or []},
        }
        try:
            await self.api.send_event(room_id, MESSAGE, content)
        except PluginError as exc:
            # Not in the room (never invited, or kicked): stay quiet.
            self.api.logger.info("cannot answer in %s: %s", room_id, exc.message)
