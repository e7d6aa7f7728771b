"""The IRC bridge's YAML config (one attrs class per section; unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import yaml


@attrs.frozen(kw_only=True)
class Mapping:
    """A Matrix room bridged to an IRC channel."""

    room: str
    channel: str


@attrs.frozen(kw_only=True)
class IrcBridgeConfig:
    """Everything the bridge reads; paths are relative to the config file."""

    homeserver_url: str
    server_name: str
    bind_host: str = "127.0.0.1"
    port: int = 9000
    # The URL the homeserver uses to reach us (written into the registration).
    appservice_url: str = ""
    registration: Path
    database: Path
    irc_host: str
    irc_port: int = 6667
    bot_nick: str = "chatlybridge"
    bot_localpart: str = "ircbridge"
    puppet_prefix: str = "irc_"
    matrix_nick_suffix: str = "[m]"
    mappings: tuple[Mapping, ...] = ()

    @property
    def url(self) -> str:
        return self.appservice_url or f"http://{self.bind_host}:{self.port}"


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
    "irc": {
        "host": "irc_host",
        "port": "irc_port",
        "bot_nick": "bot_nick",
        "matrix_nick_suffix": "matrix_nick_suffix",
    },
}


def load_config(path: Path) -> IrcBridgeConfig:
    """Read ``path``.

    Raises:
        ValueError: an unknown or missing key (named by its full path).
    """
    data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    fields: dict[str, Any] = {}
    for section, value in data.items():
        if section == "mappings":
            fields["mappings"] = tuple(
                Mapping(room=str(m["room"]), channel=str(m["channel"]))
                for m in value or []
            )
            continue
        names = _SECTIONS.get(section)
        if names is None:
            raise ValueError(f"{section}: unknown section")
        for key, item in (value or {}).items():
            if key not in names:
                raise ValueError(f"{section}.{key}: unknown option")
            fields[names[key]] = item
    for key in ("registration", "database"):
        fields[key] = path.parent / fields.get(
            key, f"irc-{key}.{'yaml' if key == 'registration' else 'db'}"
        )
    try:
        config = IrcBridgeConfig(**fields)
    except TypeError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return attrs.evolve(config, port=int(config.port), irc_port=int(config.irc_port))
