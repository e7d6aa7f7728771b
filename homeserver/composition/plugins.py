"""The plugin host: plugins resolved before the domains are built, then
constructed with their ``PluginAPI`` and registered once they are.

``PluginsBundle.build`` fails fast (import errors, bad settings) before the
database is touched; ``load`` constructs and registers them (``check_pending``)
and asks the synchronous start-up hooks (login types, media back end); the
bind step then connects them to the signals and service ports.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import attrs

from homeserver.composition.core import Core
from homeserver.plugins.caller import HookCaller
from homeserver.plugins.loading import (
    ONLY_ENV,
    ChatlyPluginManager,
    PluginLoadError,
    ResolvedPlugin,
    only_plugins,
    register_plugins,
    resolve_plugins,
)
from homeserver.plugins.policies import PluginAccountPolicy, PluginRoomPolicy
from homeserver.plugins.receivers import PluginReceivers
from homeserver.services.media.plugged_storage import PluggedMediaStorage
from homeserver.services.media.storage import MediaStorage

logger = logging.getLogger(__name__)


@attrs.define(kw_only=True)
class PluginsBundle:
    """The plugin manager, its hook caller and the adapters over it."""

    resolved: list[ResolvedPlugin]
    pm: ChatlyPluginManager
    hooks: HookCaller
    rooms: PluginRoomPolicy
    receivers: PluginReceivers
    accounts: PluginAccountPolicy | None = None
    """Set by ``load`` (it needs the login types the plugins advertise)."""
    objects: dict[str, Any] = attrs.field(factory=dict)
    """The constructed plugins, by name, in config order."""

    @classmethod
    def build(cls, *, core: Core) -> PluginsBundle:
        """Import the enabled plugins and validate their settings (only
        those ``CHATLY_PLUGINS`` names, when that environment variable is set).

        Raises:
            ConfigError: a plugin cannot be loaded or its settings are bad
                (``PluginLoadError`` names it).
        """
        config = core.config.plugins
        pm = ChatlyPluginManager()
        hooks = HookCaller(pm, core.reactor, config.hook_timeout / 1000)
        return cls(
            resolved=resolve_plugins(config, only_plugins(os.environ.get(ONLY_ENV))),
            pm=pm,
            hooks=hooks,
            rooms=PluginRoomPolicy(hooks),
            receivers=PluginReceivers(hooks),
        )

    @property
    def active(self) -> bool:
        """Whether any plugin is loaded."""
        return bool(self.objects)

    def load(self, make_api: Callable[[str, Any], Any]) -> None:
        """Construct and register the plugins (``make_api(name, config)``
        gives each its facade), then ask for their login types.

        Raises:
            PluginLoadError: as ``register_plugins`` does.
        """
        self.objects = register_plugins(self.pm, self.resolved, make_api)
        types: list[str] = []
        for answer in self.hooks.each_sync("chatly_login_types"):
            types.extend(str(t) for t in answer)
        self.accounts = PluginAccountPolicy(self.hooks, types)
        if self.objects:
            logger.info("plugins loaded: %s", ", ".join(self.objects))

    def plug_media_storage(self, storage: MediaStorage) -> None:
        """Give a ``PluggedMediaStorage`` the plugin back end it names.

        Raises:
            PluginLoadError: no loaded plugin provides that back end.
        """
        if not isinstance(storage, PluggedMediaStorage):
            return
        answers = self.hooks.each_sync("chatly_media_storage", backend=storage.backend)
        if not answers:
            raise PluginLoadError(
                storage.backend,
                "is not provided by any loaded plugin (no chatly_media_storage "
                "answered for it)",
                path="media.storage.backend",
            )
        storage.impl.plug(answers[0])

    async def start(self) -> None:
        """``chatly_startup``: every plugin, in order."""
        await self.hooks.each("chatly_startup")

    async def stop(self) -> None:
        """``chatly_shutdown``: every plugin, in order."""
        await self.hooks.each("chatly_shutdown")
