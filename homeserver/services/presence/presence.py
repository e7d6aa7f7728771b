"""Presence: who is online, idle or offline, and who may know.

Spec: client-server API, "Presence". Policy is in ``presence_rules`` (pure);
this service keeps the state, persists it with a position in the "presence"
stream, runs the timeouts and wakes the syncs of the users who may see a change
(those who share a room with the user, and the user).

State lives in memory for every user who is online or unavailable (and for an
offline user while the write that took them offline is in flight); everyone
else is read from the database on demand. Memory is always updated before
anything is awaited, so concurrent updates never work from a stale state, and
one periodic timer scans only the users in memory.

Hooks for /sync and the WebSocket transport (all no-ops when presence is
disabled):

``await user_syncing(user_id, set_presence)``
    at the start of every /sync request (or when a socket connects).
    ``set_presence`` is the /sync parameter: None or "online" brings an
    offline user online (an idle, unavailable user stays unavailable until
    they act); "unavailable" marks the user unavailable; "offline" leaves
    presence alone and does not count as syncing. Never raises.
``user_stopped_syncing(user_id, set_presence)``
    when that request ends (or the socket closes): call it exactly once per
    ``user_syncing``, in a ``finally``, with the same ``set_presence``. The
    offline timeout runs from the last of these.
``await bump_activity(user_id)``
    when the user does something (this service already hooks every non-state
    event a local user sends): refreshes last_active_ts, currently_active, and
    brings an unavailable user back online. An offline user stays offline:
    their client chose not to be shown online.
``await get_presence_for_user(user_id, since, upto)``
    m.presence events ``{type, sender, content}`` for the user and everyone
    sharing a room with them whose presence changed in (since, upto]; with
    ``since`` None, every such user who is not offline.
``await get_current_presence(user_ids)``
    the current m.presence events of the given users (those with any stored
    state), for the members of rooms a user newly joined.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from contextlib import ExitStack
from typing import Any

import attrs
from twisted.internet import defer, task

from homeserver.config.model import PresenceConfig
from homeserver.errors import Forbidden, NotFound
from homeserver.events.ids import has_domain
from homeserver.services.accounts.auth import Requester
from homeserver.services.presence.presence_rules import (
    Timeouts,
    apply_timeouts,
    presence_content,
    presence_event,
    should_notify,
    with_currently_active,
)
from homeserver.services.presence.writer import PresenceWriter
from homeserver.signals import NewEvent, PresenceChanged, Signal
from homeserver.storage.id_generators import StreamIdGenerator
from homeserver.storage.stores.presence import (
    PresenceState,
    PresenceStore,
    UserPresence,
)
from homeserver.storage.stores.users import UserStore
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import PRESENCE
from homeserver.types import JsonDict, UserID
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock
from homeserver.util.ports import Port

logger = logging.getLogger(__name__)

STREAM = PRESENCE.name
# How often the timeouts are checked; transitions happen up to this much late.
CHECK_INTERVAL_SECONDS = 5
MAX_STATUS_MSG_LENGTH = 2048


class PresenceService:
    """Presence state, timeouts, the HTTP API and the /sync hooks.

    Args:
        server_name: this server's name (local users get activity bumps).
        config: the ``presence`` config section.
        store: presence rows and the shared-room queries.
        users: to answer 404 for unknown local users.
        notifier: woken with the users who may see each change.
        stream_ids: the "presence" stream's ID generator.
        changed: emitted with each batch of persisted changes.
        clock: the injected clock.
    """

    def __init__(
        self,
        *,
        server_name: str,
        config: PresenceConfig,
        store: PresenceStore,
        users: UserStore,
        notifier: Notifier,
        stream_ids: StreamIdGenerator,
        changed: Signal[PresenceChanged],
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.enabled = config.enabled
        self.timeouts = Timeouts(
            idle_ms=int(config.idle_timeout),
            sync_online_ms=int(config.sync_online_timeout),
        )
        self.store = store
        self.users = users
        self.notifier = notifier
        self.stream_ids = stream_ids
        self.clock = clock
        self._states: dict[str, UserPresence] = {}
        self._syncing: dict[str, int] = {}
        self._timer: task.LoopingCall | None = None
        self.changed = changed
        # The presence stream's writer (which holds the state in memory and
        # runs the timeouts): here unless worker mode plugs another.
        self.writer: Port[PresenceWriter] = Port(_LocalPresence(self))

    # Lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        """Load everyone stored as online/unavailable and start the timer.

        Called from ``HomeServer.setup()`` once the stream position is loaded.
        After a restart nobody is syncing, so they go offline within
        ``sync_online_timeout`` unless they come back.
        """
        if not self.enabled or self._timer is not None:
            return
        for state in await self.store.get_non_offline():
            self._states.setdefault(state.user_id, state)
        self._timer = self.clock.looping_call(CHECK_INTERVAL_SECONDS, self._on_timer)

    def stop(self) -> None:
        """Stop the timer."""
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._timer = None

    def _on_timer(self) -> defer.Deferred[Any]:
        # run_in_background logs and swallows failures, so the LoopingCall
        # keeps running; returning the Deferred stops ticks from overlapping.
        return run_in_background("presence_timeouts", self.handle_timeouts())

    async def handle_timeouts(self) -> None:
        """Apply the idle and offline timeouts to everyone in memory."""
        now = self.clock.time_msec()
        updates = []
        for state in list(self._states.values()):
            if not self._is_local(state.user_id):
                continue  # remote users' timeouts are their server's business
            new = apply_timeouts(
                state, now, state.user_id in self._syncing, self.timeouts
            )
            if new != state:
                updates.append((state, new))
        await self._apply(updates)

    # HTTP API ---------------------------------------------------------------

    async def set_status(
        self,
        requester: Requester,
        user_id: str,
        presence: str,
        status_msg: str | None,
    ) -> None:
        """PUT /presence/{userId}/status.

        Args:
            requester: who asks.
            user_id: whose presence (the requester's own).
            presence: one of ``PresenceState.ALL``.
            status_msg: at most ``MAX_STATUS_MSG_LENGTH`` characters.

        Raises:
            MatrixError: 403 M_FORBIDDEN for another user.
        """
        UserID.parse(user_id)
        if requester.user_id != user_id:
            raise Forbidden("You cannot set the presence state of another user")
        if not self.enabled:
            return
        await self.writer.get().set_status(user_id, presence, status_msg)

    async def set_status_here(
        self, user_id: str, presence: str, status_msg: str | None
    ) -> None:
        """``set_status`` once checked, on the presence writer."""
        prev = await self._current(user_id)
        now = self.clock.time_msec()
        new = attrs.evolve(prev, state=presence, status_msg=status_msg or None)
        if presence == PresenceState.ONLINE:
            new = attrs.evolve(new, last_active_ts=now)
        await self._apply([(prev, with_currently_active(new, now))])

    async def get_status(self, requester: Requester, user_id: str) -> JsonDict:
        """GET /presence/{userId}/status.

        Raises:
            MatrixError: 404 M_NOT_FOUND for an unknown local user; 403
                M_FORBIDDEN unless the requester is the user or shares a room
                with them.
        """
        target = UserID.parse(user_id)
        if target.domain == self.server_name:
            if await self.users.get_user(user_id) is None:
                raise NotFound("Unknown user")
        if requester.user_id != user_id and not await self.store.share_a_room(
            requester.user_id, user_id
        ):
            raise Forbidden("You are not allowed to see their presence")
        if not self.enabled:
            return {"presence": PresenceState.OFFLINE}
        state = await self._current(user_id)
        return presence_content(state, self.clock.time_msec())

    # Hooks ------------------------------------------------------------------

    async def user_syncing(self, user_id: str, set_presence: str | None) -> None:
        """A /sync request (or socket) of the user started; see the module doc."""
        if not self.enabled or set_presence == PresenceState.OFFLINE:
            return
        if self.writer.plugged:
            # Another process writes presence: the sync does not wait for
            # it (the change comes back through replication and wakes it).
            run_in_background(
                "presence_syncing",
                self.writer.get().user_syncing(user_id, set_presence),
            )
            return
        try:
            await self.writer.get().user_syncing(user_id, set_presence)
        except Exception:
            # Presence is best effort: a failure here must not fail the sync.
            logger.exception("presence update failed for a syncing user")

    async def user_syncing_here(self, user_id: str, set_presence: str | None) -> None:
        """``user_syncing`` on the presence writer (never raises)."""
        self._syncing[user_id] = self._syncing.get(user_id, 0) + 1
        try:
            prev = await self._current(user_id)
            now = self.clock.time_msec()
            if set_presence == PresenceState.UNAVAILABLE:
                new = attrs.evolve(
                    prev, state=PresenceState.UNAVAILABLE, last_user_sync_ts=now
                )
            elif prev.state == PresenceState.OFFLINE:
                new = attrs.evolve(
                    prev,
                    state=PresenceState.ONLINE,
                    last_active_ts=now,
                    last_user_sync_ts=now,
                )
            else:
                new = attrs.evolve(prev, last_user_sync_ts=now)
            await self._apply([(prev, with_currently_active(new, now))])
        except Exception:
            # Presence is best effort: a failure here must not fail the sync.
            logger.exception("presence update failed for a syncing user")

    def user_stopped_syncing(
        self, user_id: str, set_presence: str | None = None
    ) -> None:
        """The /sync request (or socket) that ``user_syncing`` announced ended."""
        if not self.enabled or set_presence == PresenceState.OFFLINE:
            return
        run_in_background(
            "presence_stopped_syncing",
            self.writer.get().user_stopped_syncing(user_id, set_presence),
        )

    def user_stopped_syncing_here(self, user_id: str) -> None:
        """``user_stopped_syncing`` on the presence writer."""
        count = self._syncing.get(user_id, 0) - 1
        if count > 0:
            self._syncing[user_id] = count
        else:
            self._syncing.pop(user_id, None)
        state = self._states.get(user_id)
        if state is not None and state.state != PresenceState.OFFLINE:
            # Not worth telling anyone: kept in memory, written with the next
            # notifiable change.
            self._states[user_id] = attrs.evolve(
                state, last_user_sync_ts=self.clock.time_msec()
            )

    async def bump_activity(self, user_id: str) -> None:
        """The user did something (e.g. sent a message); see the module doc."""
        if not self.enabled:
            return
        await self.writer.get().bump_activity(user_id)

    async def bump_activity_here(self, user_id: str) -> None:
        """``bump_activity`` on the presence writer."""
        prev = self._states.get(user_id)
        if prev is None or prev.state == PresenceState.OFFLINE:
            return
        now = self.clock.time_msec()
        new = attrs.evolve(prev, last_active_ts=now, state=PresenceState.ONLINE)
        await self._apply([(prev, with_currently_active(new, now))])

    def on_new_event(self, new: NewEvent) -> None:
        """``new_event`` receiver: a local user's non-state event is activity.
        Runs in the background so it never delays the send."""
        event = new.event
        if event.is_state():
            return
        if not self.writer.plugged and event.sender not in self._states:
            return
        if UserID.parse(event.sender).domain != self.server_name:
            return
        run_in_background("presence_bump_activity", self.bump_activity(event.sender))

    async def apply_remote_presence(self, states: list[UserPresence]) -> None:
        """Presence of remote users that their server sent us (m.presence)."""
        if not self.enabled:
            return
        await self.writer.get().apply_remote_presence(states)

    async def apply_remote_presence_here(self, states: list[UserPresence]) -> None:
        """``apply_remote_presence`` on the presence writer."""
        updates = []
        for new in states:
            prev = await self._current(new.user_id)
            updates.append((prev, attrs.evolve(new, stream_id=prev.stream_id)))
        await self._apply(updates)

    def held_states(self) -> list[UserPresence]:
        """Everyone held in memory: the users who are not offline."""
        return list(self._states.values())

    def _is_local(self, user_id: str) -> bool:
        return has_domain(user_id, self.server_name)

    # Reads for /sync --------------------------------------------------------

    async def get_presence_for_user(
        self, user_id: str, since: int | None, upto: int
    ) -> list[JsonDict]:
        """Presence changes the user may see in (since, upto]; see the module doc."""
        if not self.enabled or (since is not None and since >= upto):
            return []
        rows = await self.store.get_changes_for_observer(user_id, since, upto)
        now = self.clock.time_msec()
        events = []
        for row in rows:
            # Memory may hold a fresher last_active_ts for the same change.
            held = self._states.get(row.user_id)
            state = (
                held if held is not None and held.stream_id == row.stream_id else row
            )
            events.append(presence_event(state, now))
        return events

    async def get_current_presence(self, user_ids: Collection[str]) -> list[JsonDict]:
        """The current presence of each user with any known state."""
        if not self.enabled:
            return []
        states = {u: self._states[u] for u in user_ids if u in self._states}
        missing = [u for u in user_ids if u not in states]
        if missing:
            stored = await self.store.get_presence_for_users(missing)
            for user_id, state in stored.items():
                states[user_id] = self._states.get(user_id, state)
        now = self.clock.time_msec()
        return [presence_event(states[u], now) for u in sorted(states)]

    # Internals --------------------------------------------------------------

    async def _current(self, user_id: str) -> UserPresence:
        state = self._states.get(user_id)
        if state is not None:
            return state
        stored = await self.store.get_presence(user_id)
        # An update may have landed in memory while we read.
        state = self._states.get(user_id)
        if state is not None:
            return state
        return stored if stored is not None else UserPresence(user_id)

    async def _apply(
        self, updates: Sequence[tuple[UserPresence, UserPresence]]
    ) -> None:
        """Record each (previous, new) change; persist and notify those that
        clients should hear about, keep the rest in memory only."""
        to_persist = []
        for prev, new in updates:
            if new == prev:
                continue
            if should_notify(prev, new):
                to_persist.append(new)
            elif new.state != PresenceState.OFFLINE:
                self._states[new.user_id] = new
        if to_persist:
            await self._persist(to_persist)

    async def _persist(self, states: list[UserPresence]) -> None:
        with ExitStack() as stack:
            stamped = [
                attrs.evolve(
                    s, stream_id=stack.enter_context(self.stream_ids.allocate())
                )
                for s in states
            ]
            for state in stamped:
                self._states[state.user_id] = state
            await self.store.upsert_presence(stamped)
        for state in stamped:
            if (
                state.state == PresenceState.OFFLINE
                and self._states.get(state.user_id) is state
            ):
                del self._states[state.user_id]
        self.changed.emit(PresenceChanged(tuple(stamped)))
        changed = {s.user_id for s in stamped}
        audience = await self.store.get_users_sharing_a_room(changed)
        self.notifier.notify(STREAM, users=audience | changed)


class _LocalPresence:
    """The null writer: presence is held and written by this process."""

    def __init__(self, service: PresenceService) -> None:
        self.service = service

    async def set_status(
        self, user_id: str, presence: str, status_msg: str | None
    ) -> None:
        await self.service.set_status_here(user_id, presence, status_msg)

    async def user_syncing(self, user_id: str, set_presence: str | None) -> None:
        await self.service.user_syncing_here(user_id, set_presence)

    async def user_stopped_syncing(
        self, user_id: str, set_presence: str | None
    ) -> None:
        self.service.user_stopped_syncing_here(user_id)

    async def bump_activity(self, user_id: str) -> None:
        await self.service.bump_activity_here(user_id)

    async def apply_remote_presence(self, states: list[UserPresence]) -> None:
        await self.service.apply_remote_presence_here(states)
