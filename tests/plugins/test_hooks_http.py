"""The sample plugin, installed as its own distribution and found through its
``chatly.plugins`` entry point, decides through real HTTP requests."""

from __future__ import annotations

from tests.media.helpers import MEDIA, media_id, upload
from tests.plugins.conftest import sample
from tests.support import bodies
from tests.support.server import TestServer


def test_loaded_from_its_entry_point_and_started(plugin_server: TestServer) -> None:
    plugin = sample(plugin_server)
    assert type(plugin).__module__ == "chatly_sample_plugin"
    assert plugin.started


def test_denied_event_gets_the_plugins_error_and_is_not_stored(
    plugin_server: TestServer,
) -> None:
    alice = plugin_server.user("alice")
    room = alice.create_room()
    resp = alice.send_event(room, {"msgtype": "m.text", "body": "buy spam now"})
    assert resp.code == 403
    assert resp.json == {"errcode": "ORG_EXAMPLE_SPAM", "error": "No spam, please"}
    alice.send(room, "hello")
    assert "buy spam now" not in bodies(alice.timeline(room))
    # Nor as a state event.
    resp = alice.put(
        f"/rooms/{room}/state/m.room.topic/", {"topic": "x", "body": "spam"}
    )
    assert resp.code == 403


def test_rewritten_event_is_stored_rewritten(plugin_server: TestServer) -> None:
    alice = plugin_server.user("alice")
    room = alice.create_room()
    event_id = alice.send(room, "oh darn it")
    stored = alice.event(room, event_id).json
    assert stored["content"] == {"msgtype": "m.text", "body": "oh d**n it"}


def test_new_event_and_membership_hooks_see_events(plugin_server: TestServer) -> None:
    alice = plugin_server.user("alice")
    room = alice.create_room()
    event_id = alice.send(room, "hello bots")
    plugin = sample(plugin_server)
    seen = {event["event_id"]: (event, local) for event, local in plugin.seen}
    event, local = seen[event_id]
    assert local is True
    assert event["content"]["body"] == "hello bots"
    assert event["sender"] == alice.user_id and event["room_id"] == room
    assert (room, alice.user_id, "join") in plugin.memberships


def test_registration_denied_by_the_plugin(plugin_server: TestServer) -> None:
    body = {"username": "mallory", "password": "pw-mallory-1"}
    resp = plugin_server.request("POST", "/_matrix/client/v3/register", body)
    assert resp.code == 403
    assert resp.json == {"errcode": "M_FORBIDDEN", "error": "Not you, Mallory"}
    # Others still get the usual flow.
    body = {"username": "bob", "password": "pw-bob-1"}
    resp = plugin_server.request("POST", "/_matrix/client/v3/register", body)
    assert resp.code == 401 and "flows" in resp.json


def _password_login(server: TestServer, user: str, password: str) -> int:
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
    }
    return server.request("POST", "/_matrix/client/v3/login", body).code


def test_password_provider_logs_a_user_in(plugin_server: TestServer) -> None:
    # lenny has no account: the provider vouches, the account is made.
    assert _password_login(plugin_server, "lenny", "wrong") == 403
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "lenny"},
        "password": "ldap-secret",
    }
    resp = plugin_server.request("POST", "/_matrix/client/v3/login", body)
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@lenny:test"
    whoami = plugin_server.request(
        "GET", "/_matrix/client/v3/account/whoami", token=resp.json["access_token"]
    )
    assert whoami.json["user_id"] == "@lenny:test"
    # Users the provider does not know log in with their local password.
    plugin_server.user("alice")
    assert _password_login(plugin_server, "alice", "password123") == 200


def test_plugin_login_type_is_advertised_and_works(plugin_server: TestServer) -> None:
    flows = plugin_server.request("GET", "/_matrix/client/v3/login").json["flows"]
    assert {"type": "org.example.login.magic"} in flows
    login = {"type": "org.example.login.magic", "user": "merlin"}
    resp = plugin_server.request(
        "POST", "/_matrix/client/v3/login", {**login, "magic": "nope"}
    )
    assert resp.code == 403 and resp.json["error"] == "Wrong magic"
    resp = plugin_server.request(
        "POST", "/_matrix/client/v3/login", {**login, "magic": "open-sesame"}
    )
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@merlin:test"


def test_media_back_end_from_the_plugin_stores_uploads(
    plugin_server: TestServer,
) -> None:
    alice = plugin_server.user("alice")
    uri = upload(alice, b"kept by a plugin")["content_uri"]
    files = sample(plugin_server).storage.files
    assert b"kept by a plugin" in files.values()
    resp = alice.request("GET", f"{MEDIA}/download/test/{media_id(uri)}")
    assert resp.code == 200 and resp.body == b"kept by a plugin"


def test_room_creation_denied_by_the_plugin(plugin_server: TestServer) -> None:
    alice = plugin_server.user("alice")
    resp = alice.post("/createRoom", {"name": "spam palace"})
    assert resp.code == 403
    assert resp.json == {"errcode": "ORG_EXAMPLE_SPAM", "error": "No spam rooms"}
    assert alice.get("/joined_rooms").json["joined_rooms"] == []
    alice.create_room(name="tea room")


def test_login_check_refuses_a_proved_login(plugin_server: TestServer) -> None:
    plugin_server.get_success(
        plugin_server.hs.accounts.accounts.register("banned1", "password123")
    )
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "banned1"},
        "password": "password123",
    }
    resp = plugin_server.request("POST", "/_matrix/client/v3/login", body)
    assert resp.code == 403
    assert resp.json == {"errcode": "M_FORBIDDEN", "error": "Banned from logging in"}


def test_profile_and_presence_hooks(plugin_server: TestServer) -> None:
    alice = plugin_server.user("alice")
    alice.put(f"/profile/{alice.user_id}/displayname", {"displayname": "Al"})
    alice.put(f"/presence/{alice.user_id}/status", {"presence": "online"})
    plugin = sample(plugin_server)
    assert (alice.user_id, "displayname", "Al") in plugin.profiles
    assert any(
        u.user_id == alice.user_id and u.presence == "online" for u in plugin.presence
    )


def test_shutdown_hook(plugin_server: TestServer) -> None:
    plugin_server.get_success(plugin_server.hs.shutdown())
    assert sample(plugin_server).stopped
