"""The IRC bridge's glue: Matrix events to IRC lines and IRC events to puppets.

- Matrix -> IRC: each Matrix user of a bridged room gets an IRC connection of
  their own (``<localpart>[m]``), opened when they join or first speak and
  closed when they have left every bridged room. m.text, m.emote (``/me``) and
  m.notice map to PRIVMSG, CTCP ACTION and NOTICE.
- IRC -> Matrix: the bot connection sees the channels; each IRC nick is a
  puppet ``@irc_<nick>:server`` (registered through the AS API, display name
  the nick) that joins, speaks, leaves and is renamed (display name) in the
  room. A puppet keeps its Matrix ID across nick changes.
- Room aliases ``#irc_<channel>:server`` are created on the homeserver's alias
  query: a public room bridged to ``#<channel>``.

Work for one room runs in order (a lock per room), so messages keep their order.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from chatly_bridge_kit.matrix import MatrixClient, MatrixError
from chatly_bridge_kit.registration import Registration
from chatly_bridge_kit.state import BridgeState
from twisted.internet.defer import Deferred, DeferredLock
from twisted.internet.interfaces import IReactorTCP

from chatly_irc_bridge.config import IrcBridgeConfig
from chatly_irc_bridge.irc import IrcConnectionFactory
from chatly_irc_bridge.names import matrix_user_nick, puppet_localpart

logger = logging.getLogger(__name__)

TEXT_TYPES = ("m.text", "m.emote", "m.notice")


class IrcBridge:
    """Implements the kit's ``AppServiceHandler`` and the IRC ``IrcListener``."""

    def __init__(
        self,
        *,
        reactor: IReactorTCP,
        config: IrcBridgeConfig,
        registration: Registration,
        client: MatrixClient,
        state: BridgeState,
    ) -> None:
        self._reactor = reactor
        self._config = config
        self._registration = registration
        self._client = client
        self._state = state
        self._rooms: dict[str, str] = {m.room: m.channel for m in config.mappings}
        self._rooms.update(state.items("rooms"))
        self._locks: dict[str, DeferredLock] = {}
        self._joined: set[tuple[str, str]] = set()
        self._users: dict[str, IrcConnectionFactory] = {}
        self.bot = IrcConnectionFactory(config.bot_nick, listener=self)
        self.bot.channels.update(self._rooms.values())

    def start(self) -> None:
        """Connect the bot to IRC and join the bot user to the mapped rooms."""
        self._connect(self.bot)
        for room_id in self._rooms:
            self._in_room(room_id, functools.partial(self._client.join, room_id))

    def _connect(self, factory: IrcConnectionFactory) -> None:
        connect: Any = self._reactor.connectTCP  # zope interfaces confuse mypy
        connect(self._config.irc_host, self._config.irc_port, factory)

    def _channel_room(self, channel: str) -> str | None:
        for room_id, mapped in self._rooms.items():
            if mapped.lower() == channel.lower():
                return room_id
        return None

    def _in_room(
        self, room_id: str, work: Callable[[], Coroutine[Any, Any, Any]]
    ) -> None:
        """Run ``work`` after the room's earlier work; log its failure."""
        lock = self._locks.setdefault(room_id, DeferredLock())

        async def guarded() -> None:
            try:
                await work()
            except Exception:
                logger.exception("Bridging work failed", extra={"room_id": room_id})

        lock.run(lambda: Deferred.fromCoroutine(guarded()))

    # Matrix -> IRC ------------------------------------------------------

    async def on_event(self, event: dict[str, Any]) -> None:
        sender = str(event.get("sender", ""))
        room_id = str(event.get("room_id", ""))
        content = event.get("content") or {}
        kind = event.get("type")
        if (
            kind == "m.room.member"
            and event.get("state_key") == self._client.bot_user_id
        ):
            if content.get("membership") == "invite":
                await self._client.join(room_id)
            return
        channel = self._rooms.get(room_id)
        if channel is None or self._registration.is_our_user(sender):
            return
        if kind == "m.room.member" and event.get("state_key") == sender:
            if content.get("membership") == "join":
                self._user_connection(sender).join(channel)
            elif content.get("membership") in ("leave", "ban"):
                self._user_left(sender, channel)
        elif kind == "m.room.message" and content.get("msgtype") in TEXT_TYPES:
            body = str(content.get("body", ""))
            self._user_connection(sender).say(channel, content["msgtype"], body)
        elif kind == "m.room.message" and "body" in content:
            url = content.get("url", "")
            self._user_connection(sender).say(
                channel, "m.text", f"{content['body']} {url}"
            )

    def _user_connection(self, user_id: str) -> IrcConnectionFactory:
        factory = self._users.get(user_id)
        if factory is None:
            nick = matrix_user_nick(user_id, self._config.matrix_nick_suffix)
            factory = self._users[user_id] = IrcConnectionFactory(nick)
            self._connect(factory)
        return factory

    def _user_left(self, user_id: str, channel: str) -> None:
        factory = self._users.get(user_id)
        if factory is None:
            return
        factory.part(channel)
        if not factory.channels:
            factory.close()
            del self._users[user_id]

    async def query_user(self, user_id: str) -> bool:
        prefix = f"@{self._config.puppet_prefix}"
        if not user_id.startswith(prefix) or not self._registration.is_our_user(
            user_id
        ):
            return False
        await self._client.ensure_registered(user_id[1:].split(":", 1)[0])
        return True

    async def query_alias(self, alias: str) -> bool:
        prefix = f"#{self._config.puppet_prefix}"
        if not alias.startswith(prefix) or not self._registration.is_our_alias(alias):
            return False
        name = alias[1:].split(":", 1)[0]
        channel = "#" + name[len(self._config.puppet_prefix) :]
        room_id = await self._client.create_room(
            {
                "room_alias_name": name,
                "name": channel,
                "topic": f"Bridged to {channel} on {self._config.irc_host}",
                "preset": "public_chat",
                "visibility": "private",
            }
        )
        self._rooms[room_id] = channel
        self._state.put("rooms", room_id, channel)
        self.bot.join(channel)
        return True

    # IRC -> Matrix ------------------------------------------------------

    def _is_ours(self, nick: str) -> bool:
        lowered = nick.lower()
        if lowered == self.bot.current_nick.lower():
            return True
        return any(f.current_nick.lower() == lowered for f in self._users.values())

    async def _puppet(self, nick: str) -> str:
        """The puppet of ``nick``, registered and named."""
        user_id = self._state.get("puppets", nick.lower())
        if user_id is None:
            localpart = puppet_localpart(self._config.puppet_prefix, nick)
            user_id = self._client.user_id(localpart)
            self._state.put("puppets", nick.lower(), user_id)
        localpart = user_id[1:].split(":", 1)[0]
        await self._client.ensure_registered(localpart)
        if self._state.get("displaynames", user_id) != nick:
            await self._client.set_displayname(user_id, nick)
            self._state.put("displaynames", user_id, nick)
        return str(user_id)

    async def _puppet_in_room(self, nick: str, room_id: str) -> str:
        user_id = await self._puppet(nick)
        if (room_id, user_id) not in self._joined:
            await self._client.ensure_joined(room_id, user_id)
            self._joined.add((room_id, user_id))
        return user_id

    def irc_message(self, nick: str, channel: str, text: str, msgtype: str) -> None:
        room_id = self._channel_room(channel)
        if room_id is None or self._is_ours(nick):
            return

        async def send() -> None:
            user_id = await self._puppet_in_room(nick, room_id)
            await self._client.send(
                room_id, {"msgtype": msgtype, "body": text}, user_id
            )

        self._in_room(room_id, send)

    def irc_join(self, nick: str, channel: str) -> None:
        room_id = self._channel_room(channel)
        if room_id is not None and not self._is_ours(nick):
            self._in_room(room_id, lambda: self._puppet_in_room(nick, room_id))

    def irc_part(self, nick: str, channel: str) -> None:
        room_id = self._channel_room(channel)
        if room_id is not None and not self._is_ours(nick):
            self._in_room(room_id, lambda: self._puppet_leave(nick, room_id))

    def irc_quit(self, nick: str) -> None:
        if self._is_ours(nick):
            return
        for room_id in list(self._rooms):
            self._in_room(room_id, functools.partial(self._puppet_leave, nick, room_id))

    async def _puppet_leave(self, nick: str, room_id: str) -> None:
        user_id = self._state.get("puppets", nick.lower())
        if user_id is None or (room_id, user_id) not in self._joined:
            return
        self._joined.discard((room_id, user_id))
        try:
            await self._client.leave(room_id, user_id)
        except MatrixError as exc:
            logger.warning("Puppet could not leave: %s", exc)

    def irc_nick(self, old: str, new: str) -> None:
        if self._is_ours(new):
            return
        user_id = self._state.get("puppets", old.lower())
        if user_id is None:
            return
        self._state.delete("puppets", old.lower())
        self._state.put("puppets", new.lower(), user_id)
        rooms = [room for room, user in self._joined if user == user_id]
        for room_id in rooms[:1] or list(self._rooms)[:1]:
            self._in_room(room_id, lambda: self._puppet(new))
