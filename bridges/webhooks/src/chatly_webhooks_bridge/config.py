"""The webhooks bridge's YAML config (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import yaml


@attrs.frozen(kw_only=True)
class OutgoingHook:
    """Messages of ``room`` are POSTed to ``url``, signed with ``secret``."""

    room: str
    url: str
    secret: str


@attrs.frozen(kw_only=True)
class WebhooksConfig:
    homeserver_url: str
    server_name: str
    bind_host: str = "127.0.0.1"
    port: int = 9001
    appservice_url: str = ""
    # The base of incoming hook URLs as callers see it (default: the AS URL).
    public_url: str = ""
    registration: Path
    database: Path
    bot_localpart: str = "webhooks"
    puppet_prefix: str = "webhook_"
    # Power level a room member needs for ``!webhook new``.
    command_power_level: int = 50
    max_attempts: int = 5
    outgoing: tuple[OutgoingHook, ...] = ()

    @property
    def url(self) -> str:
        return self.appservice_url or f"http://{self.bind_host}:{self.port}"

    @property
    def hooks_base(self) -> str:
        return (self.public_url or self.url).rstrip("/") + "/hooks/"


_SECTIONS = {
    "homeserver": {"url": "homeserver_url", "server_name": "server_name"},
    "appservice": {
        "bind_host": "bind_host",
        "port": "port",
        "url": "appservice_url",
        "registration": "registration",
        "database": "database",
        "bot_localpart": "bot_localpart",
        "puppet_prefix": "puppet_prefix",
    },
    "webhooks": {
        "public_url": "public_url",
        "command_power_level": "command_power_level",
        "max_attempts": "max_attempts",
    },
}


def load_config(path: Path) -> WebhooksConfig:
    """Read ``path``.

    Raises:
        ValueError: an unknown or missing key (named by its full path).
    """
    data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    fields: dict[str, Any] = {}
    for section, value in data.items():
        if section == "outgoing":
            try:
                fields["outgoing"] = tuple(
                    OutgoingHook(
                        room=str(h["room"]), url=str(h["url"]), secret=str(h["secret"])
                    )
                    for h in value or []
                )
            except KeyError as exc:
                raise ValueError(f"outgoing: every hook needs {exc.args[0]}") from None
            continue
        names = _SECTIONS.get(section)
        if names is None:
            raise ValueError(f"{section}: unknown section")
        for key, item in (value or {}).items():
            if key not in names:
                raise ValueError(f"{section}.{key}: unknown option")
            fields[names[key]] = item
    fields["registration"] = path.parent / fields.get(
        "registration", "registration.yaml"
    )
    fields["database"] = path.parent / fields.get("database", "webhooks-bridge.db")
    try:
        return WebhooksConfig(**fields)
    except TypeError as exc:
        raise ValueError(f"{path}: {exc}") from None
