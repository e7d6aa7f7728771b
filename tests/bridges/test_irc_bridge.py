"""The IRC bridge process against a real IRC server (ngircd) and a recording
stand-in for the homeserver (tests/bridges/stub_homeserver.py). The same
behaviour through a real Chatly server: test_irc_e2e.py."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.bridges.processes import (
    BridgeProcess,
    run_cli,
    running_bridge,
    write_bridge_config,
)
from tests.bridges.stub_homeserver import (
    StubHomeserver,
    membership,
    message,
    put_transaction,
)
from tests.support.irc_client import IrcTestClient
from tests.support.ngircd import NgircdServer

ROOM = "!bridged:test"
CHANNEL = "#chatly"
MODULE = "chatly_irc_bridge"


def irc_settings(homeserver_url: str, irc: NgircdServer) -> dict[str, object]:
    return {
        "homeserver": {"url": homeserver_url, "server_name": "test"},
        "irc": {"host": irc.host, "port": irc.port, "bot_nick": "chatlybridge"},
        "mappings": [{"room": ROOM, "channel": CHANNEL}],
    }


@pytest.fixture
def stub() -> Iterator[StubHomeserver]:
    with StubHomeserver().running() as server:
        yield server


@pytest.fixture
def bob(ngircd: NgircdServer) -> Iterator[IrcTestClient]:
    client = IrcTestClient(ngircd.host, ngircd.port, "bob")
    client.join(CHANNEL)
    yield client
    client.close()


@pytest.fixture
def bridge(
    tmp_path: Path,
    ngircd: NgircdServer,
    stub: StubHomeserver,
    bob: IrcTestClient,
) -> Iterator[BridgeProcess]:
    with running_bridge(
        MODULE, tmp_path / "irc", irc_settings(stub.url, ngircd)
    ) as process:
        bob.wait_for(
            lambda line: line.command == "JOIN" and line.nick == "chatlybridge"
        )
        yield process


def send(bridge: BridgeProcess, txn: str, *events: dict[str, object]) -> None:
    status, body = put_transaction(
        bridge.url, bridge.registration["hs_token"], txn, list(events)
    )
    assert (status, body) == (200, {})


def test_generate_registration(tmp_path: Path) -> None:
    config, _ = write_bridge_config(
        tmp_path,
        {
            "homeserver": {"url": "http://127.0.0.1:1", "server_name": "example.org"},
            "irc": {"host": "127.0.0.1"},
        },
    )
    result = run_cli(MODULE, config, "--generate-registration")
    assert result.returncode == 0, result.stderr
    registration = yaml.safe_load((tmp_path / "registration.yaml").read_text())
    assert registration["id"] == "chatly-irc"
    assert registration["sender_localpart"] == "ircbridge"
    assert registration["namespaces"]["users"] == [
        {"exclusive": True, "regex": r"@irc_.*:example\.org"}
    ]
    assert registration["namespaces"]["aliases"][0]["regex"] == r"#irc_.*:example\.org"
    assert (
        len(registration["as_token"]) > 20
        and registration["as_token"] != registration["hs_token"]
    )


def test_unknown_config_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("irc: {hots: x}\n")
    result = run_cli(MODULE, config, "--generate-registration")
    assert result.returncode != 0 and "irc.hots" in result.stderr


def test_as_endpoints_check_the_hs_token(
    bridge: BridgeProcess, bob: IrcTestClient
) -> None:
    event = message(ROOM, "@alice:test", "should not arrive")
    assert put_transaction(bridge.url, None, "t0", [event])[0] == 401
    status, body = put_transaction(bridge.url, "wrong", "t0", [event])
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    # The same transaction twice is delivered once.
    send(bridge, "t1", message(ROOM, "@alice:test", "once"))
    send(bridge, "t1", message(ROOM, "@alice:test", "once"))
    send(bridge, "t2", message(ROOM, "@alice:test", "twice?"))
    line = bob.wait_for(lambda line: line.command == "PRIVMSG")
    assert (line.nick, line.text) == ("alice[m]", "once")
    line = bob.wait_for(lambda line: line.command == "PRIVMSG")
    assert line.text == "twice?"
    assert not any("should not arrive" in line.text for line in bob.lines)


def test_matrix_to_irc(bridge: BridgeProcess, bob: IrcTestClient) -> None:
    send(bridge, "j", membership(ROOM, "@alice:test", "join"))
    bob.wait_for(lambda line: line.command == "JOIN" and line.nick == "alice[m]")
    send(
        bridge,
        "m",
        message(ROOM, "@alice:test", "hello irc"),
        message(ROOM, "@alice:test", "waves", "m.emote"),
        message(ROOM, "@alice:test", "a notice", "m.notice"),
        message(ROOM, "@irc_bob:test", "echo of a puppet: never sent"),
    )
    line = bob.wait_for(lambda line: line.command == "PRIVMSG")
    assert (line.nick, line.params) == ("alice[m]", [CHANNEL, "hello irc"])
    line = bob.wait_for(lambda line: line.command == "PRIVMSG")
    assert line.text == "\x01ACTION waves\x01"
    line = bob.wait_for(lambda line: line.command == "NOTICE")
    assert (line.nick, line.text) == ("alice[m]", "a notice")
    send(bridge, "l", membership(ROOM, "@alice:test", "leave"))
    bob.wait_for(
        lambda line: line.command in ("PART", "QUIT") and line.nick == "alice[m]"
    )
    assert not any(line.command == "PRIVMSG" for line in bob.lines)


def test_irc_to_matrix(
    bridge: BridgeProcess, ngircd: NgircdServer, stub: StubHomeserver
) -> None:
    carol = IrcTestClient(ngircd.host, ngircd.port, "Carol")
    carol.join(CHANNEL)
    puppet = "@irc_carol:test"
    register = stub.wait_for(lambda c: c.path.endswith("/register"))
    assert register.body == {
        "type": "m.login.application_service",
        "username": "irc_carol",
    }
    name = stub.wait_for(lambda c: c.path.endswith(f"/profile/{puppet}/displayname"))
    assert name.body == {"displayname": "Carol"}
    stub.wait_for(lambda c: c.path.endswith(f"/join/{ROOM}") and c.user_id == puppet)

    carol.say(CHANNEL, "hello matrix")
    carol.send(f"PRIVMSG {CHANNEL} :\x01ACTION dances\x01")
    carol.send(f"NOTICE {CHANNEL} :note this")
    assert stub.wait_for_send(ROOM, puppet, "m.text").body["body"] == "hello matrix"
    assert stub.wait_for_send(ROOM, puppet, "m.emote").body["body"] == "dances"
    assert stub.wait_for_send(ROOM, puppet, "m.notice").body["body"] == "note this"

    carol.send("NICK Caroline")
    renamed = stub.wait_for(lambda c: c.path.endswith(f"/profile/{puppet}/displayname"))
    assert renamed.body == {"displayname": "Caroline"}
    carol.say(CHANNEL, "same puppet")
    assert stub.wait_for_send(ROOM, puppet, "m.text").body["body"] == "same puppet"

    carol.send(f"PART {CHANNEL}")
    stub.wait_for(
        lambda c: c.path.endswith(f"/rooms/{ROOM}/leave") and c.user_id == puppet
    )
    carol.close()


def test_reconnects_after_the_irc_server_restarts(
    bridge: BridgeProcess,
    ngircd: NgircdServer,
    stub: StubHomeserver,
    bob: IrcTestClient,
) -> None:
    send(bridge, "before", message(ROOM, "@alice:test", "before"))
    bob.wait_for(lambda line: line.command == "PRIVMSG" and line.text == "before")
    ngircd.restart()
    dave = IrcTestClient(ngircd.host, ngircd.port, "dave")
    dave.send(f"JOIN {CHANNEL}")
    # The bot rejoins the channel (backoff from 1 s), then both ways work again.
    dave.wait_for_member(CHANNEL, "chatlybridge")
    dave.say(CHANNEL, "after the restart")
    assert (
        stub.wait_for_send(ROOM, "@irc_dave:test", "m.text").body["body"]
        == "after the restart"
    )
    send(bridge, "after", message(ROOM, "@alice:test", "matrix again"))
    line = dave.wait_for(lambda line: line.command == "PRIVMSG")
    assert (line.nick, line.text) == ("alice[m]", "matrix again")
    dave.close()


def as_get(bridge: BridgeProcess, path: str, method: str = "GET") -> int:
    request = urllib.request.Request(
        f"{bridge.url}/_matrix/app/v1/{path}",
        method=method,
        data=b"{}" if method == "POST" else None,
        headers={"Authorization": f"Bearer {bridge.registration['hs_token']}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_user_query_registers_a_puppet(
    bridge: BridgeProcess, stub: StubHomeserver
) -> None:
    assert as_get(bridge, "users/@irc_zed:test") == 200
    register = stub.wait_for(lambda c: c.path.endswith("/register"))
    assert register.body["username"] == "irc_zed"
    assert as_get(bridge, "users/@someone:test") == 404
    assert as_get(bridge, "rooms/%23elsewhere:test") == 404
    assert as_get(bridge, "ping", "POST") == 200


def test_long_matrix_lines_are_split(bridge: BridgeProcess, bob: IrcTestClient) -> None:
    words = [f"word{i}" for i in range(200)]
    send(bridge, "long", message(ROOM, "@alice:test", " ".join(words)))
    received: list[str] = []
    while len(received) < len(words):
        line = bob.wait_for(lambda line: line.command == "PRIVMSG")
        assert len(line.text.encode()) <= 400
        received += line.text.split()
    assert received == words
