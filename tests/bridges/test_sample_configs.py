"""The bridges' sample configs (what docs/bridges.md points operators to) load,
and unknown keys are refused with their full path."""

from __future__ import annotations

from pathlib import Path

import pytest
from chatly_irc_bridge.config import load_config as load_irc
from chatly_webhooks_bridge.config import load_config as load_webhooks

from tests.bridges.conftest import ROOT


def test_irc_sample_config_loads() -> None:
    config = load_irc(ROOT / "bridges" / "irc" / "config.sample.yaml")
    assert (config.irc_port, config.bot_nick, config.puppet_prefix) == (
        6667,
        "chatlybridge",
        "irc_",
    )
    assert config.mappings[0].channel == "#chatly"
    assert config.registration == ROOT / "bridges" / "irc" / "registration.yaml"


def test_webhooks_sample_config_loads() -> None:
    config = load_webhooks(ROOT / "bridges" / "webhooks" / "config.sample.yaml")
    assert config.hooks_base == "https://hooks.example.org/hooks/"
    assert config.outgoing[0].url == "https://ci.example.org/matrix-hook"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("webhooks: {public_ur: x}\n", "webhooks.public_ur: unknown option"),
        ("outgoing: [{room: '!r:x', url: 'http://h'}]\n", "needs secret"),
        ("extra: {}\n", "extra: unknown section"),
    ],
)
def test_webhooks_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_webhooks(path)
