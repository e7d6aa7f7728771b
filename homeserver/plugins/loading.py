"""Finding, configuring and registering plugins (docs/plugins.md, "Loading
and config").

Two steps, because a plugin is constructed with its ``PluginAPI``, which
needs the built server:

1. ``resolve_plugins`` (before the server is built): for each enabled entry of
   ``plugins.load``, import the plugin class (a module path, else the entry
   point of that name in the ``chatly.plugins`` group) and validate its
   settings with the config class it declares (``CONFIG``).
2. ``register_plugins`` (once the server is built): construct each as
   ``cls(api, config)``, register it with pluggy and run ``check_pending()``,
   so that a misspelt hook is an error.

Every failure raises ``PluginLoadError`` naming the plugin; the server does not
start.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
from collections.abc import Callable
from typing import Any

import attrs
import pluggy

from homeserver.config.loader import ConfigError
from homeserver.config.sections.plugins import PluginEntry, PluginsConfig
from homeserver.plugins import hookspecs
from homeserver.util.structure import Problem, StructureError, structure

ENTRY_POINT_GROUP = "chatly.plugins"
ONLY_ENV = "CHATLY_PLUGINS"

logger = logging.getLogger(__name__)


class PluginLoadError(ConfigError):
    """A plugin could not be loaded; the message names it."""

    def __init__(self, name: str, message: str, path: str | None = None) -> None:
        self.plugin = name
        where = path or f"plugins.load.{name}"
        super().__init__([Problem(where, f"plugin {name!r} {message}")], "plugins")


class ChatlyPluginManager(pluggy.PluginManager):
    """pluggy's manager for the ``chatly`` project. Every ``chatly_*``
    attribute of a plugin counts as a hook implementation, marked or not (as
    pytest treats ``pytest_*``), so that ``check_pending`` catches a misspelt
    hook even without ``@hookimpl``."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(hookspecs.PROJECT + "_"):
            method = getattr(plugin, name, None)
            if inspect.isroutine(method):
                return {}
        return opts


@attrs.frozen
class ResolvedPlugin:
    """A plugin class found and its settings validated."""

    name: str
    cls: type
    config: Any
    """An instance of the plugin's ``CONFIG`` class, or None without one."""


def _import(entry: PluginEntry) -> Any:
    if entry.module is not None:
        module_name, _, attr = entry.module.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr or "Plugin")
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=entry.name)
    if not found:
        raise LookupError(
            f"no plugin of that name is installed (no entry point {entry.name!r} "
            f"in the {ENTRY_POINT_GROUP} group; or set module:)"
        )
    return next(iter(found)).load()


def _config(name: str, cls: type, settings: dict[str, Any]) -> Any:
    config_cls = getattr(cls, "CONFIG", None)
    if config_cls is None:
        if settings:
            raise PluginLoadError(name, "takes no settings (it declares no CONFIG)")
        return None
    if not attrs.has(config_cls):
        raise PluginLoadError(name, "its CONFIG is not an attrs class")
    try:
        return structure(config_cls, settings, strict=True)
    except StructureError as exc:
        raise ConfigError(
            [
                Problem(f"plugins.load.{name}.config.{p.path}".rstrip("."), p.message)
                for p in exc.problems
            ],
            "plugins",
        ) from None


def only_plugins(value: str | None) -> frozenset[str] | None:
    """The ``CHATLY_PLUGINS`` environment variable: unset, every enabled
    plugin loads; ``none`` (or empty), none does; else the comma-separated
    names of the enabled plugins that load (a way to start a server whose
    plugin is broken without editing its config)."""
    if value is None:
        return None
    names = {n.strip() for n in value.split(",")} - {"", "none"}
    return frozenset(names)


def resolve_plugins(
    config: PluginsConfig, only: frozenset[str] | None = None
) -> list[ResolvedPlugin]:
    """The enabled plugins, imported and configured, in config order
    (``only``: of those, only these names; see ``only_plugins``).

    Raises:
        PluginLoadError: a plugin cannot be imported or is not a class.
        ConfigError: a plugin's settings are invalid (with their key paths).
    """
    resolved = []
    for entry in config.load:
        if not entry.enabled:
            continue
        if only is not None and entry.name not in only:
            logger.warning("plugin %s not loaded: not in CHATLY_PLUGINS", entry.name)
            continue
        try:
            cls = _import(entry)
        except Exception as exc:
            raise PluginLoadError(
                entry.name, f"cannot be loaded: {type(exc).__name__}: {exc}"
            ) from exc
        if not inspect.isclass(cls):
            raise PluginLoadError(entry.name, f"{cls!r} is not a class")
        resolved.append(
            ResolvedPlugin(entry.name, cls, _config(entry.name, cls, entry.config))
        )
    return resolved


def register_plugins(
    pm: ChatlyPluginManager,
    plugins: list[ResolvedPlugin],
    make_api: Callable[[str, Any], Any],
) -> dict[str, Any]:
    """Construct each plugin as ``cls(api, config)`` (``api`` from
    ``make_api(name, config)``) and register it.

    They are registered last to first, because pluggy calls the last
    registered first: hooks then run in config order.

    Returns:
        The plugin objects by name, in config order.

    Raises:
        PluginLoadError: construction failed, a hook's arguments do not match
            its spec, or a ``chatly_*`` hook is unknown (misspelt).
    """
    objects: dict[str, Any] = {}
    for plugin in plugins:
        try:
            api = make_api(plugin.name, plugin.config)
            objects[plugin.name] = plugin.cls(api, plugin.config)
        except Exception as exc:
            raise PluginLoadError(
                plugin.name, f"failed to start: {type(exc).__name__}: {exc}"
            ) from exc
    for name in reversed(list(objects)):
        try:
            pm.register(objects[name], name=name)
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginLoadError(name, _unknown_hook(exc)) from exc
    return objects


def _unknown_hook(exc: pluggy.PluginValidationError) -> str:
    message = str(exc)
    if "unknown hook" in message:
        return message.replace(
            "unknown hook", "unknown hook (misspelt? see docs/plugins.md)"
        )
    return message
