"""The ngircd fixture and the IRC test client against each other."""

from __future__ import annotations

from tests.support.irc_client import IrcTestClient, parse_line
from tests.support.ngircd import NgircdServer


def test_parse_line() -> None:
    line = parse_line(":alice!a@host PRIVMSG #room :hello there")
    assert (line.nick, line.command, line.params) == (
        "alice",
        "PRIVMSG",
        ["#room", "hello there"],
    )


def test_two_clients_talk_and_survive_a_restart(ngircd: NgircdServer) -> None:
    alice = IrcTestClient(ngircd.host, ngircd.port, "alice_with_a_long_nick")
    bob = IrcTestClient(ngircd.host, ngircd.port, "bob")
    alice.join("#chatly")
    bob.join("#chatly")
    alice.say("#chatly", "hi bob")
    line = bob.wait_for(lambda line: line.command == "PRIVMSG")
    assert (line.nick, line.text) == ("alice_with_a_long_nick", "hi bob")
    alice.close()
    bob.close()

    ngircd.restart()
    carol = IrcTestClient(ngircd.host, ngircd.port, "carol")
    carol.join("#chatly")
    carol.close()
