"""The facade's rooms: events as a user or the bot (through the normal auth
and persist path, seen in members' /sync), membership, state and members."""

from __future__ import annotations

import pytest

from homeserver.plugins.api import PluginError
from tests.plugins.api_kit import facade, run
from tests.support import bodies, timeline
from tests.support.server import TestServer


def test_bot_creates_a_room_invites_and_its_messages_reach_sync(
    server: TestServer,
) -> None:
    alice = server.user("alice")
    api = facade(server, "greeter")
    room = run(server, api.create_room(name="Bot room", invite=["@alice:test"]))
    invites = alice.sync()["rooms"]["invite"]
    assert room in invites
    alice.join(room)
    since = alice.sync()["next_batch"]
    event_id = run(server, api.send_message(room, "hello from the bot"))
    events = timeline(alice.sync(since=since), room)
    sent = next(e for e in events if e["event_id"] == event_id)
    assert sent["sender"] == "@greeter:test"
    assert sent["content"] == {"msgtype": "m.text", "body": "hello from the bot"}


def test_send_as_a_user_and_custom_events(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room()
    api = facade(server)
    run(
        server,
        api.send_message(room, "*waves*", msgtype="m.emote", sender=alice.user_id),
    )
    custom = run(
        server,
        api.send_event(room, "org.example.ping", {"n": 1}, sender=alice.user_id),
    )
    events = alice.timeline(room)
    assert "*waves*" in bodies(events)
    sent = next(e for e in events if e["event_id"] == custom)
    assert sent["type"] == "org.example.ping" and sent["sender"] == alice.user_id


def test_a_transaction_id_deduplicates(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room()
    api = facade(server)
    content = {"msgtype": "m.text", "body": "once"}
    first = run(
        server,
        api.send_event(
            room, "m.room.message", content, sender=alice.user_id, txn_id="t1"
        ),
    )
    again = run(
        server,
        api.send_event(
            room, "m.room.message", content, sender=alice.user_id, txn_id="t1"
        ),
    )
    assert first == again
    assert bodies(alice.timeline(room)).count("once") == 1


def test_the_auth_rules_apply(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room()
    api = facade(server)
    # The bot is not in the room.
    with pytest.raises(PluginError) as info:
        run(server, api.send_message(room, "let me in"))
    assert (info.value.code, info.value.errcode) == (403, "M_FORBIDDEN")
    # Not a local user.
    with pytest.raises(PluginError) as info:
        run(server, api.send_message(room, "hi", sender="@eve:elsewhere.example"))
    assert info.value.errcode == "M_INVALID_PARAM"
    assert "let me in" not in bodies(alice.timeline(room))


def test_join_leave_and_members(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room(preset="public_chat")
    api = facade(server)
    assert run(server, api.join_room(room)) == room
    assert run(server, api.get_members(room)) == ["@alice:test", "@demo:test"]
    run(server, api.invite(room, "@bob:test", sender=alice.user_id))
    assert run(server, api.get_members(room, "invite")) == ["@bob:test"]
    # The bot (power level 0) may not invite here: the room's rules apply.
    with pytest.raises(PluginError) as info:
        run(server, api.invite(room, api.user_id_for("carol")))
    assert (info.value.code, info.value.errcode) == (403, "M_FORBIDDEN")
    run(server, api.leave_room(room))
    assert run(server, api.get_members(room)) == ["@alice:test"]
    assert run(server, api.get_members(room, None)) == [
        "@alice:test",
        "@bob:test",
        "@demo:test",
    ]
    members = alice.get(f"/rooms/{room}/joined_members", expect=200).json["joined"]
    assert list(members) == ["@alice:test"]


def test_join_an_unknown_room_fails_cleanly(server: TestServer) -> None:
    api = facade(server)
    with pytest.raises(PluginError) as info:
        run(server, api.join_room("!nowhere:test"))
    assert info.value.code in (403, 404)


def test_state_reads_and_writes(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room(name="Before")
    api = facade(server)
    event_id = run(
        server,
        api.send_state(room, "m.room.name", {"name": "After"}, sender=alice.user_id),
    )
    assert alice.state(room, "m.room.name") == {"name": "After"}
    name = run(server, api.get_state_event(room, "m.room.name"))
    assert name["event_id"] == event_id
    assert name["content"] == {"name": "After"}
    assert name["state_key"] == "" and name["sender"] == alice.user_id
    assert run(server, api.get_state_event(room, "m.room.topic")) is None
    state = run(server, api.get_room_state(room))
    keys = [(e["type"], e["state_key"]) for e in state]
    assert keys == sorted(keys)
    assert ("m.room.create", "") in keys and ("m.room.member", "@alice:test") in keys
    assert run(server, api.get_event(event_id)) == name
    assert run(server, api.get_event("$unknown")) is None
    assert run(server, api.get_room_state("!nowhere:test")) == []


def test_create_room_arguments_are_checked(server: TestServer) -> None:
    api = facade(server)
    for bad in (
        {"preset": "everyone"},
        {"visibility": "secret"},
        {"invite": "@a:test"},
    ):
        with pytest.raises(PluginError) as info:
            run(server, api.create_room(**bad))  # type: ignore[arg-type]
        assert info.value.errcode == "M_INVALID_PARAM"
