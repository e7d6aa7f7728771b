"""presence.enabled: false, and the presence config section."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from homeserver.config import parse_config
from homeserver.config.loader import ConfigError
from tests.presence.helpers import (
    get_presence,
    position,
    put_presence,
    read_changes,
    shared_room,
    status,
)
from tests.support.server import TestServer
from tests.support.server import test_config_dict as config_dict


def test_disabled_presence_stores_and_sends_nothing(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"presence": {"enabled": False}})
    server.advance(1000)
    alice = server.user("alice")
    bob = server.user("bob")
    eve = server.user("eve")
    shared_room(alice, bob)

    resp = put_presence(alice, alice.user_id, {"presence": "online", "status_msg": "x"})
    assert resp.code == 200 and resp.json == {}
    server.get_success(server.hs.presence.service.user_syncing(bob.user_id, None))
    assert status(alice, alice.user_id) == {"presence": "offline"}
    assert status(bob, alice.user_id) == {"presence": "offline"}
    assert position(server) == 0
    assert read_changes(server, alice.user_id, None) == {}
    assert read_changes(server, alice.user_id, 0) == {}
    row = server.get_success(server.hs.presence.store.get_presence(alice.user_id))
    assert row is None
    # Bad input and other users are still refused; visibility still applies.
    assert put_presence(alice, alice.user_id, {"presence": "busy"}).code == 400
    assert put_presence(alice, bob.user_id, {"presence": "online"}).code == 403
    assert get_presence(eve, alice.user_id).code == 403
    server.hs.presence.service.user_stopped_syncing(bob.user_id)


def test_durations_and_defaults() -> None:
    default = parse_config(config_dict()).presence
    assert default.enabled is True
    assert (default.idle_timeout, default.sync_online_timeout) == (300_000, 30_000)
    config = parse_config(
        config_dict({"presence": {"idle_timeout": "2m", "sync_online_timeout": "1m"}})
    ).presence
    assert (config.idle_timeout, config.sync_online_timeout) == (120_000, 60_000)
    with pytest.raises(ConfigError, match="presence.idle_timeout"):
        parse_config(config_dict({"presence": {"idle_timeout": 0}}))
    with pytest.raises(ConfigError, match="presence.idle_timeot"):
        parse_config(config_dict({"presence": {"idle_timeot": "1m"}}))


def test_configured_timeouts_apply(make_server: Callable[..., TestServer]) -> None:
    server = make_server(
        {"presence": {"idle_timeout": "20s", "sync_online_timeout": "10s"}}
    )
    server.advance(1000)
    alice = server.user("alice")
    server.get_success(server.hs.presence.service.user_syncing(alice.user_id, None))
    server.advance(26)
    assert status(alice, alice.user_id)["presence"] == "unavailable"
    server.hs.presence.service.user_stopped_syncing(alice.user_id)
    server.advance(16)
    assert status(alice, alice.user_id)["presence"] == "offline"
