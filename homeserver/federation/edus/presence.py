"""m.presence EDUs (server-server API, "Presence"): local users' presence to
the servers sharing a room with them, and remote users' presence in."""

from __future__ import annotations

import logging
from typing import Any

import attrs
from twisted.internet import defer, task

from homeserver.events.ids import domains_of, has_domain
from homeserver.events.model import Membership
from homeserver.federation.sender.sender import FederationSender
from homeserver.services.presence.presence import PresenceService
from homeserver.services.presence.presence_rules import presence_content
from homeserver.signals import MembershipChanged, PresenceChanged
from homeserver.storage.stores.presence import PresenceState, UserPresence
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

EDU_TYPE = "m.presence"
MAX_STATUS_MSG_LENGTH = 2048
# Other servers forget a user who is online but silent for 30 minutes (as
# Synapse does), so online local users are announced again this often ...
PING_INTERVAL_MS = 25 * 60 * 1000
# ... and remote users not heard of for this long are taken as offline.
REMOTE_TIMEOUT_MS = 30 * 60 * 1000
TICK_SECONDS = 60


class PresenceEdus:
    """Forwards local presence changes; applies remote ones.

    Args:
        server_name: this server.
        sender: the federation sender.
        presence: the presence service (its ``enabled`` is respected both ways).
        room_state: a joining room's members, on the side a join needs.
        clock: to turn ``last_active_ago`` into a timestamp.
    """

    def __init__(
        self,
        *,
        server_name: str,
        sender: FederationSender,
        presence: PresenceService,
        room_state: RoomStateStore,
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.sender = sender
        self.presence = presence
        self.room_state = room_state
        self.clock = clock
        self._remote_seen: dict[str, int] = {}
        self._last_ping = clock.time_msec()
        self._timer: task.LoopingCall | None = None

    def start(self) -> None:
        """Start the periodic re-announcements and remote timeouts."""
        if self.presence.enabled and self.sender.enabled and self._timer is None:
            self._last_ping = self.clock.time_msec()
            self._timer = self.clock.looping_call(TICK_SECONDS, self._on_tick)

    def stop(self) -> None:
        """Stop the timer."""
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._timer = None

    def _on_tick(self) -> defer.Deferred[Any]:
        return run_in_background("federation_presence_tick", self.tick())

    async def tick(self) -> None:
        """Re-announce online local users; time out silent remote users."""
        now = self.clock.time_msec()
        held = self.presence.held_states()
        if now - self._last_ping >= PING_INTERVAL_MS:
            self._last_ping = now
            online = [
                s
                for s in held
                if has_domain(s.user_id, self.server_name)
                and s.state != PresenceState.OFFLINE
            ]
            if online:
                await self._send(online)
        expired = [
            attrs.evolve(s, state=PresenceState.OFFLINE, currently_active=False)
            for s in held
            if not has_domain(s.user_id, self.server_name)
            and now - self._remote_seen.setdefault(s.user_id, now) > REMOTE_TIMEOUT_MS
        ]
        for state in expired:
            logger.info("no presence from %s for 30 minutes: offline", state.user_id)
            self._remote_seen.pop(state.user_id, None)
        if expired:
            await self.presence.apply_remote_presence(expired)

    def on_membership(self, change: MembershipChanged) -> None:
        """``membership_changed`` receiver: when a server newly shares a room
        with local users, it needs their current presence (it only hears of
        changes)."""
        if (
            change.membership != Membership.JOIN
            or not self.presence.enabled
            or not self.sender.enabled
        ):
            return
        run_in_background(
            "federation_presence_on_join",
            self._send_on_join(change.room_id, change.user_id),
        )

    async def _send_on_join(self, room_id: str, joiner: str) -> None:
        """A local joiner's presence to the room's other servers; a remote
        joiner's server gets the presence of the room's local members. Each
        reads only the members of the side it needs (a join to a big room of
        one server's users stays cheap), and none while no one is online."""
        local_joiner = has_domain(joiner, self.server_name)
        if local_joiner:
            users = [joiner]
        else:
            users = sorted(
                await self.room_state.get_joined_users_of(
                    room_id, self.server_name, ours=True
                )
            )
        events = await self.presence.get_current_presence(users) if users else []
        online = [
            e for e in events if e["content"].get("presence") != PresenceState.OFFLINE
        ]
        if not online:
            return
        if local_joiner:
            servers = domains_of(
                await self.room_state.get_joined_users_of(
                    room_id, self.server_name, ours=False
                )
            )
        else:
            servers = domains_of([joiner])
        servers.discard(self.server_name)
        if not servers:
            return
        push = [
            {
                "user_id": e["sender"],
                "currently_active": False,
                "last_active_ago": 0,
                **e["content"],
            }
            for e in online
        ]
        self.sender.send_edu(servers, EDU_TYPE, {"push": push})

    def on_presence(self, changed: PresenceChanged) -> None:
        """``presence_changed`` receiver: forward local users' changes."""
        local = [s for s in changed.states if has_domain(s.user_id, self.server_name)]
        if local and self.presence.enabled and self.sender.enabled:
            run_in_background("federation_presence", self._send(local))

    async def _send(self, states: list[UserPresence]) -> None:
        now = self.clock.time_msec()
        for state in states:
            audience = await self.presence.store.get_users_sharing_a_room(
                [state.user_id]
            )
            servers = domains_of(audience) - {self.server_name}
            if not servers:
                continue
            entry = {"user_id": state.user_id, **presence_content(state, now)}
            entry.setdefault("currently_active", False)
            entry.setdefault("last_active_ago", 0)
            self.sender.send_edu(servers, EDU_TYPE, {"push": [entry]})

    async def handle(self, origin: str, content: JsonDict) -> None:
        """An inbound m.presence EDU: ``{push: [{user_id, presence, ...}]}``."""
        if not self.presence.enabled:
            return
        push = content.get("push")
        if not isinstance(push, list):
            return
        now = self.clock.time_msec()
        states = []
        for entry in push[:100]:
            state = _parse_entry(origin, entry, now)
            if state is not None and await self._shares_a_room(state.user_id):
                states.append(state)
                self._remote_seen[state.user_id] = now
        if states:
            await self.presence.apply_remote_presence(states)

    async def _shares_a_room(self, user_id: str) -> bool:
        """Whether a local user shares a room with ``user_id`` (nobody here
        needs the presence of anyone else)."""
        audience = await self.presence.store.get_users_sharing_a_room([user_id])
        return any(has_domain(u, self.server_name) for u in audience)


def _parse_entry(origin: str, entry: Any, now: int) -> UserPresence | None:
    """One ``push`` entry as a UserPresence, or None if malformed or forged."""
    if not isinstance(entry, dict):
        return None
    user_id = entry.get("user_id")
    state = entry.get("presence")
    if not isinstance(user_id, str) or state not in PresenceState.ALL:
        return None
    if not has_domain(user_id, origin):
        logger.warning("%s sent presence for %s: ignored", origin, user_id)
        return None
    ago = entry.get("last_active_ago")
    ago = ago if isinstance(ago, int) and not isinstance(ago, bool) and ago >= 0 else 0
    status = entry.get("status_msg")
    if not isinstance(status, str) or not status:
        status = None
    return UserPresence(
        user_id,
        state=state,
        status_msg=status[:MAX_STATUS_MSG_LENGTH] if status else None,
        last_active_ts=now - ago,
        currently_active=entry.get("currently_active") is True,
    )
