"""Kit of the tests of application services as clients: registration files
written into the test server's data directory and listed in its config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.support.server import TestServer

AS_TOKEN = "as-token-irc"
HS_TOKEN = "hs-token-irc"
SENDER = "@irc_bot:test"


def registration(
    id: str = "irc",
    as_token: str = AS_TOKEN,
    hs_token: str = HS_TOKEN,
    sender_localpart: str = "irc_bot",
    users: str | None = "@irc_.*",
    aliases: str | None = "#irc_.*",
    exclusive: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """A registration file's content (``users``/``aliases``: one regex each)."""
    spaces: dict[str, Any] = {}
    if users:
        spaces["users"] = [{"exclusive": exclusive, "regex": users}]
    if aliases:
        spaces["aliases"] = [{"exclusive": exclusive, "regex": aliases}]
    return {
        "id": id,
        "url": None,
        "as_token": as_token,
        "hs_token": hs_token,
        "sender_localpart": sender_localpart,
        "namespaces": spaces,
        **extra,
    }


def write_registration(data_dir: Path, name: str, content: dict[str, Any]) -> str:
    """Write a registration file; returns its name (relative to the data dir)."""
    (data_dir / name).write_text(yaml.safe_dump(content))
    return name


def as_server(
    make_server: Callable[..., TestServer],
    data_dir: Path,
    *registrations: dict[str, Any],
    overrides: dict[str, Any] | None = None,
) -> TestServer:
    """A test server with these registrations (default: one, ``irc``)."""
    regs = registrations or (registration(),)
    files = [
        write_registration(data_dir, f"as-{i}.yaml", reg) for i, reg in enumerate(regs)
    ]
    config = {"appservice": {"config_files": files}, **(overrides or {})}
    return make_server(config)
