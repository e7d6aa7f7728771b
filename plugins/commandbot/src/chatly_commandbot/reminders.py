"""``!remind``: reminders kept in the plugin's key-value store, so they
survive a restart.

Each pending reminder is one entry ``reminder/<event ID of the command>``
(the ID makes a redelivered command idempotent) holding the room, the user,
the text and when it is due (server clock, ms). At start-up every entry is
scheduled again; one that fell due while the server was down fires at once.
An entry is deleted when its reminder has been sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from chatly_commandbot.commands import CommandError, format_duration, parse_duration
from chatly_commandbot.config import CommandBotConfig

KEY_PREFIX = "reminder/"

Fire = Callable[[dict[str, Any]], Awaitable[None]]
"""Sends a due reminder (the stored entry)."""


class Reminders:
    """The pending reminders of the bot.

    Args:
        api: the plugin's ``PluginAPI``.
        config: the bot's settings.
        fire: sends a reminder that fell due.
    """

    def __init__(self, api: Any, config: CommandBotConfig, fire: Fire) -> None:
        self.api = api
        self.config = config
        self.fire = fire
        self._timers: dict[str, Any] = {}

    async def restore(self) -> int:
        """Schedule every stored reminder (at start-up); how many."""
        entries = await self.api.kv_list(KEY_PREFIX)
        for entry in entries:
            self._schedule(entry.key, entry.value)
        return len(entries)

    async def add(self, event: dict[str, Any], args: str) -> str:
        """``!remind <duration> <text>`` from ``event``; the bot's answer."""
        duration, _, text = args.partition(" ")
        text = text.strip()
        if not duration or not text:
            raise CommandError(
                f"Usage: {self.config.prefix}remind <duration> <text>, "
                f"e.g. {self.config.prefix}remind 10m tea"
            )
        seconds = parse_duration(duration)
        if seconds > self.config.max_reminder_seconds:
            limit = format_duration(self.config.max_reminder_seconds)
            raise CommandError(f"That is too far ahead (at most {limit}).")
        user_id = event["sender"]
        if await self._pending_for(user_id) >= self.config.max_reminders_per_user:
            raise CommandError(
                f"You have {self.config.max_reminders_per_user} reminders pending "
                "already."
            )
        key = KEY_PREFIX + event["event_id"]
        entry = {
            "room_id": event["room_id"],
            "user_id": user_id,
            "text": text,
            "due_ms": self.api.time_msec() + seconds * 1000,
            "event_id": event["event_id"],
            "thread_root": thread_root(event),
        }
        await self.api.kv_set(key, entry)
        self._schedule(key, entry)
        return f"I will remind you in {format_duration(seconds)}: {text}"

    def cancel_all(self) -> None:
        """Stop the timers (at shutdown; the entries stay stored)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    async def _pending_for(self, user_id: str) -> int:
        entries = await self.api.kv_list(KEY_PREFIX)
        return sum(1 for e in entries if e.value.get("user_id") == user_id)

    def _schedule(self, key: str, entry: dict[str, Any]) -> None:
        if key in self._timers:
            return
        delay = max(0, int(entry["due_ms"]) - self.api.time_msec()) / 1000
        self._timers[key] = self.api.call_later(
            delay, self._due, key, entry, name="reminder"
        )

    async def _due(self, key: str, entry: dict[str, Any]) -> None:
        self._timers.pop(key, None)
        try:
            await self.fire(entry)
        finally:
            # Sent, or never sendable (the bot left the room): either way
            # it is not retried at every start-up.
            await self.api.kv_delete(key)


def thread_root(event: dict[str, Any]) -> str | None:
    """The thread ``event`` is in, if any."""
    relates = event.get("content", {}).get("m.relates_to")
    if isinstance(relates, dict) and relates.get("rel_type") == "m.thread":
        root = relates.get("event_id")
        return root if isinstance(root, str) else None
    return None
