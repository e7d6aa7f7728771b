"""A Matrix user and an IRC user talk through heisenbridge, both ways.

Written against the client-server API alone (tests/interop/client.py), so the
same conversation runs against any homeserver that lists heisenbridge's
registration. The Matrix user does what a person does: DMs the bridge's bot,
types its commands (ADDNETWORK, ADDSERVER, OPEN, CONNECT, JOIN), accepts the
rooms the bot invites them to and talks in the channel's room. Every wait
polls with a generous deadline; none asserts on timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.interop.client import Client, SyncState
from tests.support.irc_client import IrcTestClient

NETWORK = "ngircd"
CHANNEL = "#chatly"
WAIT = 90.0

JsonDict = dict[str, Any]


def _messages_from(seen: SyncState, room_id: str, sender: str) -> list[JsonDict]:
    return [
        event
        for event in seen.timeline.get(room_id, [])
        if event.get("type") == "m.room.message" and event.get("sender") == sender
    ]


def command(client: Client, room_id: str, bot: str, text: str) -> JsonDict:
    """Send a command to the bot in ``room_id``; the bot's first reply to it."""
    before = len(_messages_from(client.seen, room_id, bot))
    client.send(room_id, text)

    def replied(seen: SyncState) -> JsonDict | None:
        replies = _messages_from(seen, room_id, bot)
        return replies[before] if len(replies) > before else None

    return dict(client.sync_until(replied, f"the bot's reply to {text!r}", WAIT))


def accept_invite(client: Client, what: str, known: set[str]) -> str:
    """Wait for an invite to a room not in ``known``, join it; its ID."""

    def invited(seen: SyncState) -> str | None:
        fresh = [room for room in seen.invites if room not in known]
        return fresh[0] if fresh else None

    room_id = str(client.sync_until(invited, what, WAIT))
    client.join(room_id)
    known.add(room_id)
    return room_id


def poll(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Wait (polling) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(0.5)


def open_control_room(client: Client, bot: str) -> str:
    """DM the bot (a direct chat invite), wait for it to join; the room ID."""
    room_id = client.create_room(
        preset="trusted_private_chat", is_direct=True, invite=[bot]
    )
    client.wait_for_membership(room_id, bot, "join", WAIT)
    return room_id


def irc_nick_present(irc: IrcTestClient, nick: str) -> bool:
    """ISON: is ``nick`` connected to the IRC server?"""
    irc.send(f"ISON {nick}")
    line = irc.wait_for(lambda line: line.command == "303")
    return nick.lower() in line.text.lower().split()


def puppet_of(client: Client, irc: IrcTestClient, prefix: str = "irc_") -> str:
    """The Matrix user heisenbridge puppets ``irc``'s nick as."""
    server_name = client.user_id.split(":", 1)[1]
    return f"@{prefix}{NETWORK}_{irc.nick.lower()}:{server_name}"


def matrix_nick(client: Client) -> str:
    """The IRC nick heisenbridge gives a Matrix user: their localpart."""
    return client.user_id[1:].split(":", 1)[0]


def wait_for_text(client: Client, room_id: str, text: str, what: str) -> JsonDict:
    """Sync until a message with body ``text`` shows up in ``room_id``."""
    return client.wait_for_event(
        room_id,
        lambda event: (
            event.get("type") == "m.room.message"
            and event["content"].get("body") == text
        ),
        what,
        WAIT,
    )


def wait_for_privmsg(irc: IrcTestClient, text: str) -> tuple[str, str]:
    """The (nick, target) of the next PRIVMSG ``text`` the IRC user gets."""
    line = irc.wait_for(lambda line: line.command == "PRIVMSG" and line.text == text)
    return line.nick.lower(), line.params[0]


def talk_in_a_channel(
    client: Client, bot: str, irc: IrcTestClient, irc_host: str, irc_port: int
) -> tuple[set[str], str]:
    """Set the bridge up from a DM with its bot, join a channel, and say
    hello both ways; the rooms the user is in and the channel's room."""
    known: set[str] = set()
    control = open_control_room(client, bot)
    known.add(control)
    command(client, control, bot, f"ADDNETWORK {NETWORK}")
    command(client, control, bot, f"ADDSERVER {NETWORK} {irc_host} {irc_port}")
    client.send(control, f"OPEN {NETWORK}")
    network_room = accept_invite(client, "the network room's invite", known)

    nick = matrix_nick(client)
    irc.join(CHANNEL)
    client.send(network_room, "CONNECT")
    poll(lambda: irc_nick_present(irc, nick), f"{nick} on IRC")

    client.send(network_room, f"JOIN {CHANNEL}")
    channel_room = accept_invite(client, f"the {CHANNEL} room's invite", known)
    irc.wait_for(
        lambda line: (
            line.command == "JOIN"
            and line.nick.lower() == nick.lower()
            and CHANNEL in line.params
        )
    )

    client.send(channel_room, "hello from Matrix")
    assert wait_for_privmsg(irc, "hello from Matrix") == (nick.lower(), CHANNEL)

    irc.say(CHANNEL, "hello from IRC")
    event = wait_for_text(client, channel_room, "hello from IRC", "the IRC message")
    assert event["sender"] == puppet_of(client, irc)
    return known, channel_room


def talk_in_private(client: Client, irc: IrcTestClient, known: set[str]) -> None:
    """The IRC user messages the Matrix user's nick: the bot opens a private
    room with the IRC user's puppet; the Matrix user answers there."""
    irc.say(matrix_nick(client), "psst, Matrix user")
    private = accept_invite(client, "the private chat's invite", known)
    event = wait_for_text(client, private, "psst, Matrix user", "the private message")
    assert event["sender"] == puppet_of(client, irc)

    client.send(private, "psst, IRC user")
    assert wait_for_privmsg(irc, "psst, IRC user") == (
        matrix_nick(client).lower(),
        irc.nick,
    )


def talk_after_a_bridge_restart(
    client: Client, irc: IrcTestClient, channel_room: str, restart: Callable[[], None]
) -> None:
    """``restart()`` the bridge: it finds its rooms again from the server
    (joined rooms, their account data and members), reconnects to IRC and
    relays both ways as before."""
    restart()
    nick = matrix_nick(client)
    irc.wait_for(
        lambda line: (
            line.command == "JOIN"
            and line.nick.lower() == nick.lower()
            and CHANNEL in line.params
        ),
        timeout=WAIT,
    )
    irc.say(CHANNEL, "welcome back")
    event = wait_for_text(client, channel_room, "welcome back", "a message after")
    assert event["sender"] == puppet_of(client, irc)
    client.send(channel_room, "glad to be back")
    assert wait_for_privmsg(irc, "glad to be back") == (nick.lower(), CHANNEL)
