"""The facade tests' kit: a facade over a test server (made as the plugin
host makes it), and a small plugin loaded through the config that keeps
reminders in its key-value store and re-arms them at start-up."""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.composition.plugin_api import make_plugin_api
from homeserver.plugins import hookimpl
from homeserver.plugins.api import PluginAPI
from tests.support.server import TestServer


def facade(server: TestServer, name: str = "demo", config: Any = None) -> PluginAPI:
    """A plugin's facade on ``server``, made by the host's own factory."""
    return make_plugin_api(server.hs, name, config)


def run(server: TestServer, awaitable: Any) -> Any:
    """``server.get_success``, for the facade's coroutines."""
    return server.get_success(awaitable)


@attrs.frozen(kw_only=True)
class ReminderConfig:
    """The reminder plugin's settings."""

    greeting: str = "reminder"


class ReminderPlugin:
    """Reminders that survive a restart: each is a KV entry ``reminder/<id>``
    holding ``{room_id, text, due_ms}``; start-up re-arms a timer for each."""

    CONFIG = ReminderConfig

    def __init__(self, api: PluginAPI, config: ReminderConfig) -> None:
        self.api = api
        self.config = config
        self.timers: dict[str, Any] = {}

    async def remind(self, key: str, room_id: str, text: str, delay: float) -> None:
        """Store a reminder and arm its timer."""
        due = self.api.time_msec() + int(delay * 1000)
        await self.api.kv_set(key, {"room_id": room_id, "text": text, "due_ms": due})
        self._arm(key, room_id, text, delay)

    def _arm(self, key: str, room_id: str, text: str, delay: float) -> None:
        self.timers[key] = self.api.call_later(
            delay, self._fire, key, room_id, text, name="reminder"
        )

    async def _fire(self, key: str, room_id: str, text: str) -> None:
        await self.api.send_message(room_id, f"{self.config.greeting}: {text}")
        await self.api.kv_delete(key)

    @hookimpl
    async def chatly_startup(self) -> None:
        now = self.api.time_msec()
        for entry in await self.api.kv_list("reminder/"):
            value = entry.value
            delay = max(0.0, (value["due_ms"] - now) / 1000)
            self._arm(entry.key, value["room_id"], value["text"], delay)


def reminder_config(**settings: Any) -> dict[str, Any]:
    """Config overrides loading the reminder plugin from its module path."""
    entry = {
        "name": "reminders",
        "module": "tests.plugins.api_kit:ReminderPlugin",
        "bot_localpart": "remindbot",
        "config": settings,
    }
    return {"plugins": {"load": [entry]}}
