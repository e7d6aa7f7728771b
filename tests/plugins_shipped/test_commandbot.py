"""The command bot (plugins/commandbot), end to end: a real user talks to it
over the client API of a server that loads it from its module path."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from homeserver.storage.engines import Engine
from tests.plugins_shipped.conftest import plugin_overrides, replies_to, reply_body
from tests.support import User
from tests.support.server import TestServer
from tests.workers.duties_kit import Deployment

BOT = "@commandbot:test"
OVERRIDES = plugin_overrides("commandbot", "CommandBot", {"max_dice": 10})


def _room_with_bot(server: TestServer, user: User) -> str:
    room = user.create_room()
    user.invite(room, BOT)
    joined = user.get(f"/rooms/{room}/joined_members", expect=200).json["joined"]
    assert BOT in joined, "the bot joins the rooms it is invited to"
    return room


@pytest.fixture
def bot_server(make_server: Callable[..., TestServer]) -> TestServer:
    return make_server(OVERRIDES)


def test_ping_echo_and_help_answer_as_replies(bot_server: TestServer) -> None:
    alice = bot_server.user("alice")
    room = _room_with_bot(bot_server, alice)
    ping = alice.send(room, "!ping")
    echo = alice.send(room, "!echo hello  there")
    help_ = alice.send(room, "!help")
    [reply] = replies_to(alice, room, ping)
    assert reply["sender"] == BOT
    assert reply["content"]["msgtype"] == "m.notice"
    assert reply["content"]["body"] == "pong"
    assert reply_body(alice, room, echo) == "hello  there"
    listing = reply_body(alice, room, help_)
    for command in ("!help", "!ping", "!echo", "!roll", "!remind"):
        assert command in listing


def test_roll_throws_the_dice_asked_for(bot_server: TestServer) -> None:
    alice = bot_server.user("alice")
    room = _room_with_bot(bot_server, alice)
    three = reply_body(alice, room, alice.send(room, "!roll 3d6"))
    match = re.fullmatch(r"3d6: (\d) \+ (\d) \+ (\d) = (\d+)", three)
    assert match is not None, three
    rolls = [int(g) for g in match.groups()[:3]]
    assert all(1 <= r <= 6 for r in rolls) and sum(rolls) == int(match.group(4))
    one = reply_body(alice, room, alice.send(room, "!roll"))
    assert re.fullmatch(r"1d6: [1-6]", one), one
    too_many = reply_body(alice, room, alice.send(room, "!roll 11d6"))
    assert too_many == "Roll between 1 and 10 dice."
    bad = reply_body(alice, room, alice.send(room, "!roll lots"))
    assert bad.startswith("Usage: !roll")


def test_no_answer_to_plain_messages_unknown_commands_or_outside_its_rooms(
    bot_server: TestServer,
) -> None:
    alice = bot_server.user("alice")
    room = _room_with_bot(bot_server, alice)
    plain = alice.send(room, "ping")
    unknown = alice.send(room, "!frobnicate")
    elsewhere = alice.create_room()
    outside = alice.send(elsewhere, "!ping")
    assert replies_to(alice, room, plain) == []
    assert replies_to(alice, room, unknown) == []
    assert replies_to(alice, elsewhere, outside) == []
    # Still alive.
    assert reply_body(alice, room, alice.send(room, "!ping")) == "pong"


def test_a_command_in_a_thread_is_answered_in_the_thread(
    bot_server: TestServer,
) -> None:
    alice = bot_server.user("alice")
    room = _room_with_bot(bot_server, alice)
    root = alice.send(room, "a thread")
    relates = {"rel_type": "m.thread", "event_id": root}
    ping = alice.send(room, "!ping", **{"m.relates_to": relates})
    [reply] = replies_to(alice, room, ping)
    assert reply["content"]["m.relates_to"]["rel_type"] == "m.thread"
    assert reply["content"]["m.relates_to"]["event_id"] == root


def test_a_reminder_fires_on_the_servers_clock(bot_server: TestServer) -> None:
    alice = bot_server.user("alice")
    room = _room_with_bot(bot_server, alice)
    remind = alice.send(room, "!remind 1h30m put the kettle on")
    [ack] = replies_to(alice, room, remind)
    assert ack["content"]["body"] == "I will remind you in 1h30m: put the kettle on"
    bot_server.advance(90 * 60 - 1)
    assert len(replies_to(alice, room, remind)) == 1
    bot_server.advance(1)
    [reminder, _] = replies_to(alice, room, remind)
    assert (
        reminder["content"]["body"] == f"{alice.user_id}: reminder: put the kettle on"
    )
    assert reminder["content"]["m.mentions"] == {"user_ids": [alice.user_id]}
    # Fired once: nothing more later.
    bot_server.advance(86400)
    assert len(replies_to(alice, room, remind)) == 2


def test_bad_reminders_are_explained(bot_server: TestServer) -> None:
    alice = bot_server.user("alice")
    room = _room_with_bot(bot_server, alice)
    usage = reply_body(alice, room, alice.send(room, "!remind 10m"))
    assert usage.startswith("Usage: !remind <duration> <text>")
    bad = reply_body(alice, room, alice.send(room, "!remind soon tea"))
    assert bad.startswith("Not a duration: 'soon'")
    far = reply_body(alice, room, alice.send(room, "!remind 400d tea"))
    assert far.startswith("That is too far ahead")


def test_a_reminder_survives_a_restart(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    before = make_server(OVERRIDES)
    alice = before.user("alice")
    room = _room_with_bot(before, alice)
    remind = alice.send(room, "!remind 2h stretch")
    assert len(replies_to(alice, room, remind)) == 1

    # A new server process on the same database; its clock starts where
    # the first one's was (both fake clocks start at 0).
    after = TestServer(before.db.engine, OVERRIDES, tmp_path)
    alice = alice.on(after)
    after.advance(2 * 3600 - 1)
    assert len(replies_to(alice, room, remind)) == 1
    after.advance(1)
    [reminder, _] = replies_to(alice, room, remind)
    assert reminder["sender"] == BOT
    assert reminder["content"]["body"] == f"{alice.user_id}: reminder: stretch"

    # Sent, it is forgotten: a third start sends nothing again.
    again = TestServer(before.db.engine, OVERRIDES, tmp_path)
    again.advance(3 * 3600)
    assert len(replies_to(alice.on(again), room, remind)) == 2


def test_a_plugins_stored_reminders_are_restored_by_one_process(
    make_engine: Callable[[], Engine], tmp_path: Path
) -> None:
    """Every process loads the plugins; only the one running the background
    tasks restores the command bot's reminders, so each fires once."""
    deployment = Deployment(
        make_engine(),
        tmp_path,
        [{"name": "bg1", "role": "background", "port": 18151}],
        overrides=OVERRIDES,
    )
    assert deployment["bg1"].hs.plugin_services.runs_background_tasks
    assert not deployment.main.hs.plugin_services.runs_background_tasks
    alice = deployment.main.user("alice")
    room = alice.create_room()
    alice.invite(room, "@commandbot:test")
    remind = alice.send(room, "!remind 2h stretch")
    assert len(replies_to(alice, room, remind)) == 1
    for name in ("main", "bg1"):
        deployment.restart(name)
    pending = {
        name: len(deployment[name].hs.plugins.objects["commandbot"].reminders._timers)
        for name in ("main", "bg1")
    }
    assert pending == {"main": 0, "bg1": 1}
    deployment.advance(2 * 3600)
    deployment.advance(60)
    # Read on a process started after: it sees whatever either process sent
    # (no replication in this deployment).
    alice = alice.on(deployment.restart("bg1"))
    try:
        assert len(replies_to(alice, room, remind)) == 2
    finally:
        deployment.close()
