"""presence.enabled: false, and the presence config section."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from homeserver.config import parse_config
from homeserver.config.loader import ConfigError
from tests.harness import TestServer
from tests.harness import test_config_dict as config_dict
from tests.presence.helpers import (
    get_presence,
    position,
    put_presence,
    read_changes,
    shared_room,
    status,
)


def test_disabled_presence_stores_and_sends_nothing(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"presence": {"enabled": False}})
    server.advance(1000)
    alice, a_tok = server.register("alice")
    bob, b_tok = server.register("bob")
    eve, e_tok = server.register("eve")
    shared_room(server, (alice, a_tok), (bob, b_tok))

    resp = put_presence(server, a_tok, alice, {"presence": "online", "status_msg": "x"})
    assert resp.code == 200 and resp.json == {}
    server.get_success(server.hs.presence.service.user_syncing(bob, None))
    assert status(server, a_tok, alice) == {"presence": "offline"}
    assert status(server, b_tok, alice) == {"presence": "offline"}
    assert position(server) == 0
    assert read_changes(server, alice, None) == {}
    assert read_changes(server, alice, 0) == {}
    row = server.get_success(server.hs.presence.store.get_presence(alice))
    assert row is None
    # Bad input and other users are still refused; visibility still applies.
    assert put_presence(server, a_tok, alice, {"presence": "busy"}).code == 400
    assert put_presence(server, a_tok, bob, {"presence": "online"}).code == 403
    assert get_presence(server, e_tok, alice).code == 403
    server.hs.presence.service.user_stopped_syncing(bob)


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
    alice, token = server.register("alice")
    server.get_success(server.hs.presence.service.user_syncing(alice, None))
    server.advance(26)
    assert status(server, token, alice)["presence"] == "unavailable"
    server.hs.presence.service.user_stopped_syncing(alice)
    server.advance(16)
    assert status(server, token, alice)["presence"] == "offline"
