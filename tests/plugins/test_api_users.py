"""The facade's users: registering and looking up users, and the plugin's bot."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from homeserver.config.loader import ConfigError
from homeserver.plugins.api import PluginAPI, PluginError, PluginUser
from tests.plugins.api_kit import facade, reminder_config, run
from tests.support.server import TestServer


def test_the_facade_is_versioned() -> None:
    major, minor = PluginAPI.VERSION.split(".")
    assert (int(major), int(minor)) >= (1, 0)


def test_create_user_then_look_it_up(server: TestServer) -> None:
    api = facade(server)
    user = run(server, api.create_user("carol", displayname="Carol C"))
    assert user == PluginUser("@carol:test", "Carol C", None)
    assert run(server, api.user_exists("@carol:test")) is True
    assert run(server, api.get_user("@carol:test")) == user
    # The profile is the one clients read.
    resp = server.request("GET", "/_matrix/client/v3/profile/@carol:test")
    assert resp.json == {"displayname": "Carol C"}


def test_unknown_and_remote_users_do_not_exist(server: TestServer) -> None:
    api = facade(server)
    assert run(server, api.user_exists("@nobody:test")) is False
    assert run(server, api.user_exists("@alice:elsewhere.example")) is False
    assert run(server, api.user_exists("not a user id")) is False
    assert run(server, api.get_user("@nobody:test")) is None


def test_a_user_created_with_a_password_can_log_in(server: TestServer) -> None:
    api = facade(server)
    run(server, api.create_user("dave", password="dave-secret-1"))
    dave = server.login("dave", "dave-secret-1")
    assert dave.user_id == "@dave:test"


@pytest.mark.parametrize(
    ("localpart", "errcode"),
    [("alice", "M_USER_IN_USE"), ("Bad Name", "M_INVALID_USERNAME")],
)
def test_create_user_refusals_are_matrix_errors(
    server: TestServer, localpart: str, errcode: str
) -> None:
    server.user("alice")
    api = facade(server)
    with pytest.raises(PluginError) as info:
        run(server, api.create_user(localpart))
    assert info.value.code == 400
    assert info.value.errcode == errcode


def test_the_bot_is_created_on_demand_once(server: TestServer) -> None:
    api = facade(server, "helper")
    assert api.bot_user_id == "@helper:test"
    assert run(server, api.user_exists(api.bot_user_id)) is False
    assert run(server, api.ensure_bot_user()) == "@helper:test"
    # A second facade of the same plugin (after a restart) finds it.
    again = facade(server, "helper")
    assert run(server, again.ensure_bot_user()) == "@helper:test"
    assert run(server, api.user_exists("@helper:test")) is True


def test_the_bot_localpart_comes_from_the_config(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server(reminder_config())
    api = server.hs.plugin_apis["reminders"]
    assert api.name == "reminders"
    assert api.bot_user_id == "@remindbot:test"
    assert api.config.greeting == "reminder"
    assert api.logger.name == "chatly.plugins.reminders"
    assert api.server_name == "test"
    assert api.route_prefix == "/_chatly/plugins/reminders"


def test_a_bad_bot_localpart_is_a_config_error(
    make_server: Callable[..., TestServer],
) -> None:
    overrides = reminder_config()
    overrides["plugins"]["load"][0]["bot_localpart"] = "Not Valid"
    with pytest.raises(ConfigError, match="bot_localpart"):
        make_server(overrides)


def test_set_profile_of_the_bot_reaches_its_rooms(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room(preset="public_chat")
    api = facade(server, "helper")
    run(server, api.join_room(room))
    user = run(server, api.set_profile(displayname="Helper Bot"))
    assert user == PluginUser("@helper:test", "Helper Bot", None)
    member = alice.state(room, "m.room.member", "@helper:test")
    assert member["displayname"] == "Helper Bot"
    run(server, api.set_profile("@alice:test", avatar_url="mxc://test/abc"))
    resp = server.request("GET", "/_matrix/client/v3/profile/@alice:test")
    assert resp.json["avatar_url"] == "mxc://test/abc"
    with pytest.raises(PluginError) as info:
        run(server, api.set_profile(displayname="x" * 1000))
    assert info.value.code == 400


def test_a_deactivated_user_cannot_be_acted_as(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room()
    api = facade(server)
    run(server, server.hs.accounts.accounts.deactivate(alice.user_id))
    with pytest.raises(PluginError) as info:
        run(server, api.send_message(room, "ghost", sender=alice.user_id))
    assert (info.value.code, info.value.errcode) == (403, "M_USER_DEACTIVATED")
