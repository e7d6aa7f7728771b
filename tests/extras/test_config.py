"""The voip and server_notices config sections refuse what cannot work."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.config import parse_config
from homeserver.config.loader import ConfigError
from tests.support import server as support


def _problem(overrides: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as failure:
        parse_config(support.test_config_dict(overrides))
    return str(failure.value)


def test_turn_username_needs_a_password() -> None:
    problem = _problem({"voip": {"turn_username": "u"}})
    assert "voip.turn_username" in problem


def test_notices_localpart_must_be_a_localpart() -> None:
    problem = _problem({"server_notices": {"system_mxid_localpart": "Bad Name"}})
    assert "server_notices.system_mxid_localpart" in problem


def test_defaults() -> None:
    config = parse_config(support.test_config_dict())
    assert config.voip.turn_uris == []
    assert config.server_notices.system_mxid_localpart is None
    assert config.registration.allow_guest_access is False
