"""Config section: plugins, the in-process extensions loaded with pluggy
(docs/plugins.md, "Loading and config")."""

from __future__ import annotations

import re
from typing import Any

import attrs

from homeserver.config.fields import option, positive
from homeserver.config.sections.federation import DEFAULT_IP_RANGE_BLACKLIST
from homeserver.config.sections.outbound import ip_ranges
from homeserver.types import is_valid_localpart
from homeserver.util.structure import Duration, check

_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_MODULE = re.compile(r"[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?")


@attrs.frozen(kw_only=True)
class PluginEntry:
    """One plugin to load, with its own settings."""

    name: str = option(
        doc="The plugin's name: its entry point in the chatly.plugins group "
        "(unless module is set), its metrics label, its routes under "
        "/_chatly/plugins/<name>/ and its key-value store. Lower case letters, "
        "digits and underscores.",
    )
    module: str | None = option(
        None,
        doc="Load the plugin from this module path instead of an entry point: "
        "'package.module:ClassName' (or 'package.module' for a module-level "
        "Plugin class).",
        example="my_bot.plugin:Bot",
    )
    enabled: bool = option(True, doc="false: listed but not loaded.")
    bot_localpart: str | None = option(
        None,
        doc="The localpart of the plugin's bot user (created on first use, "
        "the default sender of what the plugin sends). Default: the plugin's "
        "name.",
        example="reminder_bot",
    )
    config: dict[str, Any] = option(
        factory=dict,
        doc="The plugin's own settings, validated by the config class the plugin "
        "declares (its CONFIG attribute); unknown keys are an error.",
    )

    def __attrs_post_init__(self) -> None:
        check(
            bool(_NAME.fullmatch(self.name)),
            "name",
            "expected lower case letters, digits and underscores, starting "
            "with a letter",
        )
        check(
            self.bot_localpart is None or is_valid_localpart(self.bot_localpart),
            "bot_localpart",
            "expected a user ID localpart (a-z, 0-9 and =_-./+)",
        )
        check(
            self.module is None or bool(_MODULE.fullmatch(self.module)),
            "module",
            "expected 'package.module:ClassName'",
        )


@attrs.frozen(kw_only=True)
class PluginsConfig:
    """In-process plugins. Installed plugins are loaded only when listed here."""

    load: list[PluginEntry] = option(
        factory=list,
        doc="The plugins to load, in call order (a hook's implementations run "
        "in this order; for first-result hooks the first plugin to answer wins). "
        "Each has a name (its entry point in the chatly.plugins group), an "
        "optional module ('package.module:Class', instead of an entry point), "
        "enabled (default true) and config (its own settings, checked by the "
        "plugin's CONFIG class). Default: none.",
        example=[
            PluginEntry(
                name="spam_filter", config={"words": ["buy now"]}, enabled=False
            ),
            PluginEntry(name="my_bot", module="my_bot.plugin:Bot", enabled=False),
        ],
    )
    hook_timeout: Duration = option(
        Duration(5000),
        doc="How long one plugin's asynchronous hook implementation may take "
        "before it is cancelled, logged and counted as an error.",
        example="5s",
        validator=positive,
    )
    ip_range_blacklist: list[str] = option(
        factory=lambda: list(DEFAULT_IP_RANGE_BLACKLIST),
        doc="Outbound HTTP requests of plugins (PluginAPI.http_request, e.g. "
        "the webhook notifier's) never connect to these address ranges, "
        "checked after DNS resolution; redirects are never followed. The "
        "default is federation's list; 0.0.0.0 and :: are always refused.",
        validator=ip_ranges,
    )
    ip_range_whitelist: list[str] = option(
        factory=list,
        doc="Ranges plugins' outbound requests may reach even though "
        "ip_range_blacklist covers them: the allowlist for webhook receivers "
        "on this host or a private network, e.g. '127.0.0.1/32' or "
        "'10.1.2.0/24'.",
        validator=ip_ranges,
    )
    http_timeout: Duration = option(
        Duration(10_000),
        doc="How long one outbound HTTP request of a plugin may take, "
        "connection and body included.",
        example="10s",
        validator=positive,
    )

    def __attrs_post_init__(self) -> None:
        names = [entry.name for entry in self.load]
        check(len(names) == len(set(names)), "load", "two plugins share a name")
