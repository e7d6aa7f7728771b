"""Server notices: the admin endpoint and the service function, the notices
room (invite, tag, name, who may speak) and its reuse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.client import User
from tests.support.events import bodies
from tests.support.server import TestServer

NOTICE = "/_synapse/admin/v1/send_server_notice"
ENABLED = {"server_notices": {"system_mxid_localpart": "notices"}}


@pytest.fixture
def notices_server(make_server: Callable[..., TestServer]) -> TestServer:
    return make_server(ENABLED)


def _notice(admin: User, user_id: str, text: str, expect: int = 200) -> Any:
    body = {"user_id": user_id, "content": {"msgtype": "m.text", "body": text}}
    return admin.post(NOTICE, body, expect=expect)


def _invited_room(user: User) -> str:
    invites = user.sync()["rooms"]["invite"]
    assert len(invites) == 1, invites
    return str(next(iter(invites)))


def test_disabled_by_default(server: TestServer) -> None:
    admin = server.user("admin", admin=True)
    server.user("alice")
    resp = _notice(admin, "@alice:test", "hi", expect=400)
    assert resp.json["errcode"] == "M_UNKNOWN"


def test_admin_sends_a_notice(notices_server: TestServer) -> None:
    server = notices_server
    admin = server.user("admin", admin=True)
    alice = server.user("alice")
    event_id = _notice(admin, alice.user_id, "maintenance at 10").json["event_id"]
    room = _invited_room(alice)
    invite = alice.sync()["rooms"]["invite"][room]["invite_state"]["events"]
    names = [e["content"].get("name") for e in invite if e["type"] == "m.room.name"]
    assert names == ["Server Notices"]
    senders = {e["sender"] for e in invite}
    assert senders == {"@notices:test"}
    tags = alice.get(f"/user/{alice.user_id}/rooms/{room}/tags", expect=200).json
    assert tags == {"tags": {"m.server_notice": {}}}
    alice.join(room)
    assert bodies(alice.timeline(room)) == ["maintenance at 10"]
    assert alice.event(room, event_id, expect=200).json["sender"] == "@notices:test"
    member = alice.state(room, "m.room.member", "@notices:test")
    assert member["displayname"] == "Server Notices"
    # Only the notices user speaks there.
    alice.send_event(room, {"msgtype": "m.text", "body": "x"}, expect=403)
    # The next notice goes to the same room.
    _notice(admin, alice.user_id, "done")
    assert bodies(alice.timeline(room)) == ["maintenance at 10", "done"]
    # Nobody logs in as the notices user.
    resp = server.request(
        "POST",
        "/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "notices"},
            "password": "",
        },
    )
    assert resp.code in (400, 403)


def test_a_left_room_is_replaced(notices_server: TestServer) -> None:
    server = notices_server
    admin = server.user("admin", admin=True)
    alice = server.user("alice")
    _notice(admin, alice.user_id, "one")
    first = _invited_room(alice)
    alice.leave(first)
    _notice(admin, alice.user_id, "two")
    second = _invited_room(alice)
    assert second != first


def test_service_function_and_auto_join(make_server: Callable[..., TestServer]) -> None:
    server = make_server(
        {
            "server_notices": {
                "system_mxid_localpart": "notices",
                "auto_join": True,
                "room_name": "From the admins",
                "room_topic": "Read me",
            }
        }
    )
    alice = server.user("alice")
    notices = server.hs.extras.server_notices
    server.get_success(
        notices.send_notice(alice.user_id, {"msgtype": "m.text", "body": "auto"})
    )
    joined = alice.sync()["rooms"]["join"]
    assert len(joined) == 1
    room = next(iter(joined))
    assert bodies(alice.timeline(room)) == ["auto"]
    assert alice.state(room, "m.room.name")["name"] == "From the admins"
    assert alice.state(room, "m.room.topic")["topic"] == "Read me"
    # The room stays on this server.
    assert alice.state(room, "m.room.create")["m.federate"] is False


def test_errors(notices_server: TestServer) -> None:
    server = notices_server
    admin = server.user("admin", admin=True)
    alice = server.user("alice")
    assert _notice(alice, alice.user_id, "x", expect=403).json["errcode"] == (
        "M_FORBIDDEN"
    )
    _notice(admin, "@bob:elsewhere", "x", expect=400)
    assert _notice(admin, "@nobody:test", "x", expect=404).json["errcode"] == (
        "M_NOT_FOUND"
    )
    missing = admin.post(NOTICE, {"user_id": alice.user_id}, expect=400)
    assert missing.json["errcode"] == "M_MISSING_PARAM"
    bad = admin.post(NOTICE, {"user_id": alice.user_id, "content": "x"}, expect=400)
    assert bad.json["errcode"] == "M_BAD_JSON"
    # Nothing was created by the failed requests.
    assert alice.sync()["rooms"]["invite"] == {}


def test_put_with_txn_id_is_idempotent(notices_server: TestServer) -> None:
    server = notices_server
    admin = server.user("admin", admin=True)
    alice = server.user("alice")
    body = {"user_id": alice.user_id, "content": {"msgtype": "m.text", "body": "t"}}
    first = admin.put(f"{NOTICE}/txn1", body, expect=200).json["event_id"]
    again = admin.put(f"{NOTICE}/txn1", body, expect=200).json["event_id"]
    other = admin.put(f"{NOTICE}/txn2", body, expect=200).json["event_id"]
    assert first == again != other
    room = _invited_room(alice)
    alice.join(room)
    assert bodies(alice.timeline(room)) == ["t", "t"]


def test_state_notice(notices_server: TestServer) -> None:
    server = notices_server
    admin = server.user("admin", admin=True)
    alice = server.user("alice")
    body = {
        "user_id": alice.user_id,
        "type": "m.server_notice.usage_limit_reached",
        "state_key": "",
        "content": {"server_notice_type": "m.server_notice.usage_limit_reached"},
    }
    admin.post(NOTICE, body, expect=200)
    room = _invited_room(alice)
    alice.join(room)
    state = alice.state(room, "m.server_notice.usage_limit_reached")
    assert state["server_notice_type"] == "m.server_notice.usage_limit_reached"


def test_existing_room_follows_a_config_change(
    notices_server: TestServer, tmp_path: Any
) -> None:
    """After a restart with other names, the next notice brings the room and
    the notices user's member event up to the config."""
    server = notices_server
    admin = server.user("admin", admin=True)
    alice = server.user("alice")
    _notice(admin, alice.user_id, "one")
    room = _invited_room(alice)
    alice.join(room)
    restarted = TestServer(
        server.db.engine,
        {
            "server_notices": {
                "system_mxid_localpart": "notices",
                "system_mxid_display_name": "The Admins",
                "room_name": "Admin notices",
                "room_topic": "Please read",
            }
        },
        tmp_path,
    )
    admin, alice = admin.on(restarted), alice.on(restarted)
    _notice(admin, alice.user_id, "two")
    assert alice.sync()["rooms"]["invite"] == {}
    assert alice.state(room, "m.room.name")["name"] == "Admin notices"
    assert alice.state(room, "m.room.topic")["topic"] == "Please read"
    member = alice.state(room, "m.room.member", "@notices:test")
    assert member["displayname"] == "The Admins"
    assert bodies(alice.timeline(room))[-1] == "two"


def test_the_tag_comes_down_with_the_join(notices_server: TestServer) -> None:
    """The room is tagged before the user joins; the incremental /sync that
    brings the join brings the tag too (as Synapse: a newly joined room's
    account data is sent whole)."""
    server = notices_server
    admin = server.user("admin", admin=True)
    alice = server.user("alice")
    _notice(admin, alice.user_id, "hello")
    since = alice.sync()["next_batch"]
    room = _invited_room(alice)
    alice.join(room)
    joined = alice.sync(since=since)["rooms"]["join"][room]
    assert {
        "type": "m.tag",
        "content": {"tags": {"m.server_notice": {}}},
    } in joined["account_data"]["events"]
    # Later incremental syncs do not repeat it.
    again = alice.sync(since=alice.sync(since=since)["next_batch"], timeout=0)
    assert room not in again["rooms"]["join"]
