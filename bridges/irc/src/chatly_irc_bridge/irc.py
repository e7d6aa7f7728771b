"""IRC connections on twisted.words: the bridge bot and one per Matrix user.

Both reconnect with exponential backoff (``ReconnectingClientFactory``: 1 s
doubling up to 30 s, reset once signed on) and join their channels again after
every sign-on, so an IRC server restart heals by itself.
"""

from __future__ import annotations

import logging
from typing import Protocol

from twisted.internet.protocol import ReconnectingClientFactory
from twisted.words.protocols import irc

logger = logging.getLogger(__name__)

MAX_LINE = 400


class IrcListener(Protocol):
    """What the bridge does with what the bot connection sees."""

    def irc_message(self, nick: str, channel: str, text: str, msgtype: str) -> None: ...
    def irc_join(self, nick: str, channel: str) -> None: ...
    def irc_part(self, nick: str, channel: str) -> None: ...
    def irc_quit(self, nick: str) -> None: ...
    def irc_nick(self, old: str, new: str) -> None: ...


class BridgeIrcProtocol(irc.IRCClient):
    """One IRC connection. Only the bot's (``listener`` set) reports events."""

    factory: IrcConnectionFactory
    lineRate = None

    def __init__(self, nickname: str) -> None:
        self.nickname = nickname  # type: ignore[assignment]
        self.realname = "Chatly IRC bridge"  # type: ignore[assignment]
        self.username = "chatly"  # type: ignore[assignment]

    def signedOn(self) -> None:
        self.factory.signed_on(self)

    def connectionLost(self, reason: object) -> None:  # type: ignore[override]
        self.factory.protocol_lost(self)
        super().connectionLost(reason)

    def privmsg(self, user: str, channel: str, message: str) -> None:
        if self.factory.listener and channel != self.nickname:
            self.factory.listener.irc_message(
                user.split("!", 1)[0], channel, message, "m.text"
            )

    def action(self, user: str, channel: str, data: str) -> None:
        if self.factory.listener and channel != self.nickname:
            self.factory.listener.irc_message(
                user.split("!", 1)[0], channel, data, "m.emote"
            )

    def noticed(self, user: str, channel: str, message: str) -> None:
        if self.factory.listener and channel.startswith(("#", "&")):
            self.factory.listener.irc_message(
                user.split("!", 1)[0], channel, message, "m.notice"
            )

    def userJoined(self, user: str, channel: str) -> None:
        if self.factory.listener:
            self.factory.listener.irc_join(user, channel)

    def userLeft(self, user: str, channel: str) -> None:
        if self.factory.listener:
            self.factory.listener.irc_part(user, channel)

    def userKicked(self, kickee: str, channel: str, kicker: str, message: str) -> None:
        self.userLeft(kickee, channel)

    def userQuit(self, user: str, quitMessage: str) -> None:
        if self.factory.listener:
            self.factory.listener.irc_quit(user)

    def userRenamed(self, oldname: str, newname: str) -> None:
        if self.factory.listener:
            self.factory.listener.irc_nick(oldname, newname)


class IrcConnectionFactory(ReconnectingClientFactory):
    """A reconnecting connection with the channels it should be in.

    Lines sent while disconnected wait in ``pending`` and go out after the next
    sign-on (JOINs first, so the server handles them in order).
    """

    maxDelay = 30
    initialDelay = 1.0
    factor = 2.0

    def __init__(self, nickname: str, listener: IrcListener | None = None) -> None:
        self.nickname = nickname
        self.listener = listener
        self.channels: set[str] = set()
        self.connection: BridgeIrcProtocol | None = None
        self.pending: list[tuple[str, str, str]] = []

    def buildProtocol(self, addr: object) -> BridgeIrcProtocol:  # type: ignore[override]
        protocol = BridgeIrcProtocol(self.nickname)
        protocol.factory = self
        return protocol

    def signed_on(self, protocol: BridgeIrcProtocol) -> None:
        logger.info("IRC connection signed on", extra={"nick": protocol.nickname})
        self.resetDelay()
        self.connection = protocol
        for channel in sorted(self.channels):
            protocol.join(channel)
        pending, self.pending = self.pending, []
        for channel, kind, text in pending:
            self.say(channel, kind, text)

    def protocol_lost(self, protocol: BridgeIrcProtocol) -> None:
        if self.connection is protocol:
            self.connection = None

    @property
    def current_nick(self) -> str:
        return self.connection.nickname if self.connection else self.nickname

    def join(self, channel: str) -> None:
        if channel not in self.channels:
            self.channels.add(channel)
            if self.connection:
                self.connection.join(channel)

    def part(self, channel: str) -> None:
        if channel in self.channels:
            self.channels.discard(channel)
            if self.connection:
                self.connection.part(channel)

    def say(self, channel: str, kind: str, text: str) -> None:
        """Send ``text`` (``m.text``, ``m.emote`` or ``m.notice``) to ``channel``."""
        self.join(channel)
        if self.connection is None:
            self.pending.append((channel, kind, text))
            return
        for line in text.splitlines():
            if not line.strip():
                continue
            if kind == "m.emote":
                self.connection.describe(channel, line)
            elif kind == "m.notice":
                self.connection.notice(channel, line)
            else:
                # Long lines are split, at spaces where possible, to fit IRC's
                # 512-byte line with the server's prefix added.
                self.connection.msg(channel, line, length=MAX_LINE)

    def close(self) -> None:
        """Quit for good."""
        self.stopTrying()
        if self.connection:
            self.connection.quit("Left the bridged rooms")
