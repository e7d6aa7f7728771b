"""The runner of one email pusher: waits ``notif_delay`` after a notifying
event, then mails a digest of everything still unread, throttled per room
(as Synapse's EmailPusher)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from homeserver.services.push.email import throttle
from homeserver.services.push.email.mails import NotifMailer
from homeserver.services.push.pushers.pool import PusherHost
from homeserver.storage.stores.email_throttle import EmailThrottleStore
from homeserver.storage.stores.push_actions import PushAction, PushActionsStore
from homeserver.storage.stores.pushers import PusherRecord
from homeserver.util.background import run_in_background

logger = logging.getLogger(__name__)

# The most missed notifications one digest covers (the oldest first).
MAX_DIGEST_ACTIONS = 100


class EmailPusherRunner:
    """Mails one user's missed notifications to one address.

    Args:
        record: the pusher (pushkey: the address).
        host: the pool (saving the position).
        actions: the push actions store.
        throttles: the per-room back-off.
        mails: renders and sends the digest.
        delay_ms: ``email.notif_delay``.
    """

    def __init__(
        self,
        *,
        record: PusherRecord,
        host: PusherHost,
        actions: PushActionsStore,
        throttles: EmailThrottleStore,
        mails: NotifMailer,
        delay_ms: int,
    ) -> None:
        self._record = record
        self._host = host
        self._clock = host.clock
        self._actions = actions
        self._throttles = throttles
        self._mails = mails
        self._delay_ms = delay_ms
        self._position = record.last_stream_ordering
        self._upto = record.last_stream_ordering
        self._timer: Any = None  # an IDelayedCall while one is set
        self._running = False
        self._again = False
        self._stopped = False

    async def on_new_actions(self, upto: int) -> None:
        """New notifications may exist: look now (a timer is set for those
        not due yet)."""
        self._upto = max(self._upto, upto)
        await self._process()

    async def on_read(self, room_id: str) -> None:
        """Nothing to do: what was read is left out when the timer fires."""

    def stop(self) -> None:
        """The pusher is gone: cancel the timer."""
        self._stopped = True
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    async def _process(self) -> None:
        """One pass at a time: a wake-up during a pass runs another after it."""
        if self._running:
            self._again = True
            return
        self._running = True
        try:
            again = True
            while again and not self._stopped:
                self._again = False
                await self._process_once()
                again = self._again
        finally:
            self._running = False

    async def _process_once(self) -> None:
        pending = await self._actions.get_unread_push_actions(
            self._record.user_id,
            after=self._position,
            upto=self._upto,
            limit=MAX_DIGEST_ACTIONS,
        )
        if not pending:
            return
        throttles = await self._throttles.get_throttles(self._record.id)
        now = self._clock.time_msec()
        soonest: int | None = None
        for action in pending:
            due = max(
                action.received_ts + self._delay_ms,
                throttle.ready_at(throttles.get(action.room_id)),
            )
            if due <= now:
                # Something is due: mail everything missed so far at once.
                await self._send(pending, throttles)
                return
            soonest = due if soonest is None else min(soonest, due)
        if soonest is not None:
            self._set_timer(soonest - now)

    def _set_timer(self, wait_ms: int) -> None:
        self._cancel_timer()
        self._timer = self._clock.call_later(wait_ms / 1000, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if not self._stopped:
            run_in_background("email_pusher", self._process())

    async def _send(
        self, pending: Sequence[PushAction], throttles: dict[str, Any]
    ) -> None:
        by_room: dict[str, list[str]] = defaultdict(list)
        for action in pending:
            by_room[action.room_id].append(action.event_id)
        sent = await self._mails.send_digest(self._record, dict(by_room))
        if not sent or self._stopped:
            # Given up by the mailer (logged there): these stay unmailed, and
            # the next notification mails them with it. Or the pusher was
            # removed or replaced meanwhile: the record is no longer ours.
            return
        now = self._clock.time_msec()
        self._position = max(a.stream_ordering for a in pending)
        for room_id in by_room:
            await self._throttles.upsert_throttle(
                self._record.id,
                room_id,
                throttle.after_sending(throttles.get(room_id), now),
            )
        if not await self._host.save_progress(
            self._record,
            last_stream_ordering=self._position,
            failing_since=None,
            last_success_ts=now,
        ):
            self.stop()
            return
        if len(pending) >= MAX_DIGEST_ACTIONS:
            self._again = True
