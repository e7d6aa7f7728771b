"""The IRC bridge end to end: a real Chatly process with the bridge's
registration, the bridge process, Debian's ngircd, a Matrix user (HTTP client)
and IRC users (plain sockets)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bridges.chatly_server import new_chatly, started
from tests.bridges.processes import (
    BridgeProcess,
    prepare_bridge,
    run_bridge,
    update_bridge_config,
)
from tests.interop.chatly import Chatly
from tests.interop.client import Client, register
from tests.support.irc_client import IrcTestClient
from tests.support.ngircd import NgircdServer

CHANNEL = "#chatly"
MODULE = "chatly_irc_bridge"


def is_message(sender: str, body: str, msgtype: str = "m.text") -> Any:
    return lambda e: (
        e.get("type") == "m.room.message"
        and e.get("sender") == sender
        and e["content"].get("body") == body
        and e["content"].get("msgtype") == msgtype
    )


@pytest.fixture
def setup(
    tmp_path: Path, ngircd: NgircdServer
) -> Iterator[tuple[Chatly, Client, str, IrcTestClient, BridgeProcess]]:
    chatly = new_chatly(tmp_path / "chatly")
    config, port = prepare_bridge(
        MODULE,
        tmp_path / "irc",
        {
            "homeserver": {"url": chatly.client_url, "server_name": chatly.server_name},
            "irc": {"host": ngircd.host, "port": ngircd.port},
        },
    )
    with started(chatly, [config.parent / "registration.yaml"]):
        alice = register(chatly.client_url, chatly.shared_secret, "alice")
        room = alice.create_room(preset="public_chat", name="bridged")
        update_bridge_config(
            config,
            mappings=[{"room": room, "channel": CHANNEL}],
        )
        bob = IrcTestClient(ngircd.host, ngircd.port, "bob")
        bob.join(CHANNEL)
        with run_bridge(MODULE, config, port) as bridge:
            try:
                bob.wait_for(
                    lambda line: line.command == "JOIN" and line.nick == "chatlybridge"
                )
                yield chatly, alice, room, bob, bridge
            except BaseException:
                print(bridge.log[-6000:])
                raise
            finally:
                bob.close()


def test_matrix_and_irc_users_talk(
    setup: tuple[Chatly, Client, str, IrcTestClient, BridgeProcess],
    ngircd: NgircdServer,
) -> None:
    chatly, alice, room, bob, _ = setup
    server = chatly.server_name
    bob_puppet = f"@irc_bob:{server}"

    # Matrix -> IRC, through alice's own IRC connection.
    alice.send(room, "hello irc")
    line = bob.wait_for(lambda line: line.command == "PRIVMSG")
    assert (line.nick, line.params) == ("alice[m]", [CHANNEL, "hello irc"])

    # IRC -> Matrix, through bob's puppet; /me is an emote, NOTICE a notice.
    bob.say(CHANNEL, "hello matrix")
    bob.send(f"PRIVMSG {CHANNEL} :\x01ACTION waves\x01")
    bob.send(f"NOTICE {CHANNEL} :fyi")
    alice.wait_for_event(room, is_message(bob_puppet, "hello matrix"), "bob's line")
    alice.wait_for_event(room, is_message(bob_puppet, "waves", "m.emote"), "/me")
    alice.wait_for_event(room, is_message(bob_puppet, "fyi", "m.notice"), "notice")
    profile = alice.call("GET", f"/profile/{bob_puppet}")
    assert profile["displayname"] == "bob"

    # Joins and parts both ways.
    carol = IrcTestClient(ngircd.host, ngircd.port, "carol")
    carol.join(CHANNEL)
    alice.wait_for_membership(room, f"@irc_carol:{server}", "join")
    carol.send(f"PART {CHANNEL}")
    alice.wait_for_membership(room, f"@irc_carol:{server}", "leave")
    carol.close()
    dave = register(chatly.client_url, chatly.shared_secret, "dave")
    dave.join(room)
    bob.wait_for(lambda line: line.command == "JOIN" and line.nick == "dave[m]")
    dave.leave(room)
    bob.wait_for(
        lambda line: line.command in ("PART", "QUIT") and line.nick == "dave[m]"
    )

    # A nick change renames the puppet (same Matrix user).
    bob.send("NICK robert")
    alice.wait_for_event(
        room,
        lambda e: (
            e.get("type") == "m.room.member"
            and e.get("state_key") == bob_puppet
            and e["content"].get("displayname") == "robert"
        ),
        "the puppet's new display name",
    )
    bob.say(CHANNEL, "still me")
    alice.wait_for_event(
        room, is_message(bob_puppet, "still me"), "after the nick change"
    )


def test_bridge_reconnects_after_the_irc_server_restarts(
    setup: tuple[Chatly, Client, str, IrcTestClient, BridgeProcess],
    ngircd: NgircdServer,
) -> None:
    chatly, alice, room, bob, _ = setup
    alice.send(room, "before the restart")
    bob.wait_for(
        lambda line: line.command == "PRIVMSG" and line.text == "before the restart"
    )
    ngircd.restart()
    erin = IrcTestClient(ngircd.host, ngircd.port, "erin")
    erin.send(f"JOIN {CHANNEL}")
    erin.wait_for_member(CHANNEL, "chatlybridge")
    erin.say(CHANNEL, "anyone there?")
    puppet = f"@irc_erin:{chatly.server_name}"
    alice.wait_for_event(room, is_message(puppet, "anyone there?"), "erin's line")
    alice.send(room, "yes, after the restart")
    line = erin.wait_for(
        lambda line: line.command == "PRIVMSG" and line.nick == "alice[m]"
    )
    assert line.text == "yes, after the restart"
    erin.close()


def test_joining_an_irc_alias_bridges_a_new_channel(
    setup: tuple[Chatly, Client, str, IrcTestClient, BridgeProcess],
    ngircd: NgircdServer,
) -> None:
    chatly, alice, _, _, _ = setup
    frank = IrcTestClient(ngircd.host, ngircd.port, "frank")
    frank.join("#lobby")
    # The server asks the bridge about the unknown alias; the bridge makes the room.
    room = alice.join(f"#irc_lobby:{chatly.server_name}")
    frank.wait_for_member("#lobby", "chatlybridge")
    alice.send(room, "hi lobby")
    line = frank.wait_for(lambda line: line.command == "PRIVMSG")
    assert (line.nick, line.params) == ("alice[m]", ["#lobby", "hi lobby"])
    frank.say("#lobby", "welcome")
    puppet = f"@irc_frank:{chatly.server_name}"
    alice.wait_for_event(room, is_message(puppet, "welcome"), "frank's line")
    frank.close()
