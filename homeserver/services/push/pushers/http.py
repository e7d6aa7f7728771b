"""The ``http`` pusher: notifications to a push gateway.

Spec: client-server API v1.19 "Push Notifications" (``data.url``), push
gateway API v1.19. Each notification is first offered to the plugins
(``chatly_push``): True = delivered, False = the pushkey is rejected (the
pusher is removed), None = posted to ``data.url`` here. A gateway that lists
the pushkey as ``rejected`` removes the pusher too.

Delivery runs in the background, one notification at a time and in order.
A failure is retried with exponential backoff (``push.retry_initial``
doubling up to ``push.retry_max``, with jitter). The position (the last
action handled) and the failure state are saved after every notification,
so a restart resumes with the notification being retried: delivered once.
After ``push.give_up_after`` of failing, that notification is skipped and
the next one tried (as Synapse gives up after a day).
"""

from __future__ import annotations

import enum
import logging
import random
from typing import Any
from urllib.parse import urlsplit

import attrs
from prometheus_client import Counter

from homeserver.errors import InvalidParam, MissingParam
from homeserver.services.push.pushers.details import EventDetailsReader
from homeserver.services.push.pushers.gateway import GatewayError, PushGatewayClient
from homeserver.services.push.pushers.notification import (
    badge_notification,
    event_notification,
)
from homeserver.services.push.pushers.pool import PusherHost
from homeserver.services.push.pushers.ports import (
    PushActionLike,
    PushActions,
    PushDeliveryHook,
)
from homeserver.storage.stores.pushers import NewPusher, PusherRecord
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background
from homeserver.util.ports import Port

logger = logging.getLogger(__name__)

NOTIFY_PATH = "/_matrix/push/v1/notify"
# Push actions read per query.
BATCH = 50

NOTIFICATIONS = Counter(
    "homeserver_push_notifications_total",
    "Notifications of http pushers by outcome (sent, plugin, failed, skipped, "
    "rejected, badge)",
    ["outcome"],
)


async def validate_http_pusher(new: NewPusher) -> None:
    """``data.url`` must be an absolute http(s) URL whose path is
    ``/_matrix/push/v1/notify``.

    Raises:
        MatrixError: 400 M_MISSING_PARAM (no url) or M_INVALID_PARAM.
    """
    url = new.data.get("url")
    if url is None:
        raise MissingParam("data.url")
    if not isinstance(url, str):
        raise InvalidParam("data.url must be a string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParam("data.url must be an absolute http or https URL")
    if parts.path != NOTIFY_PATH:
        raise InvalidParam(f"data.url must have the path {NOTIFY_PATH}")


@attrs.frozen(kw_only=True)
class HttpPusherSettings:
    """The ``push`` section, as http pushers use it (milliseconds)."""

    include_content: bool = True
    group_unread_count_by_room: bool = True
    retry_initial_ms: int = 1_000
    retry_max_ms: int = 3_600_000
    give_up_after_ms: int = 86_400_000


@attrs.frozen(kw_only=True)
class HttpPusherDeps:
    """What every http pusher shares."""

    actions: PushActions
    details: EventDetailsReader
    gateway: PushGatewayClient
    plugins: Port[PushDeliveryHook]
    settings: HttpPusherSettings


class _Result(enum.Enum):
    DONE = "done"  # delivered, or nothing worth delivering
    FAILED = "failed"  # try again later
    REMOVED = "removed"  # the pushkey was rejected: the pusher is gone


class HttpPusher:
    """The runner of one ``http`` pusher (a ``PusherRunner``)."""

    def __init__(self, record: PusherRecord, host: PusherHost, deps: HttpPusherDeps):
        self.record = record
        self.host = host
        self.deps = deps
        self.last_stream_ordering = record.last_stream_ordering
        self.max_stream_ordering = record.last_stream_ordering
        self.failing_since = record.failing_since
        self.backoff_ms = deps.settings.retry_initial_ms
        self.last_badge: int | None = None
        self._running = False
        self._again = False
        self._stopped = False
        self._timer: Any = None

    # -- PusherRunner -------------------------------------------------------------

    async def on_new_actions(self, upto: int) -> None:
        self.max_stream_ordering = max(self.max_stream_ordering, upto)
        self._wake()

    async def on_read(self, room_id: str) -> None:
        if self._stopped or self.failing_since is not None:
            return
        run_in_background("http_pusher_badge", self._push_badge())

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    # -- the delivery loop --------------------------------------------------------

    def _wake(self) -> None:
        if self._stopped:
            return
        if self._running:
            self._again = True
            return
        if self._timer is not None and self._timer.active():
            return  # backing off: the timer resumes
        self._running = True
        run_in_background("http_pusher", self._run())

    async def _run(self) -> None:
        try:
            while not self._stopped:
                self._again = False
                if not await self._process_batch() or not self._again:
                    return
        except Exception:
            # Our own failure (e.g. the database): try again later rather
            # than stay idle until the next event.
            logger.exception(
                "http pusher failed", extra={"user_id": self.record.user_id}
            )
            self._retry_later()
        finally:
            self._running = False

    async def _process_batch(self) -> bool:
        """Deliver the actions after the position, in order. False when it
        stopped to back off (or the pusher is gone)."""
        user_id = self.record.user_id
        actions = await self.deps.actions.get_unread_push_actions(
            user_id,
            after=self.last_stream_ordering,
            upto=self.max_stream_ordering,
            limit=BATCH,
        )
        for action in actions:
            if self._stopped:
                return False
            result = await self._deliver(action)
            if result is _Result.REMOVED:
                return False
            if result is _Result.FAILED and not await self._failed(action):
                return False
            if result is _Result.DONE and not await self._done(action):
                return False
        if len(actions) == BATCH:
            self._again = True
        return True

    async def _done(self, action: PushActionLike) -> bool:
        """Move past a delivered action; False if the pusher was deleted."""
        if self._stopped:
            # Removed or replaced meanwhile: the record is no longer ours.
            return False
        self.last_stream_ordering = action.stream_ordering
        self.failing_since = None
        self.backoff_ms = self.deps.settings.retry_initial_ms
        exists = await self.host.save_progress(
            self.record,
            last_stream_ordering=self.last_stream_ordering,
            failing_since=None,
            last_success_ts=self.host.clock.time_msec(),
        )
        if not exists:
            self.stop()
        return exists

    async def _failed(self, action: PushActionLike) -> bool:
        """A delivery failed: back off (False), or give up on this action
        after ``give_up_after`` of failing and go on (True)."""
        if self._stopped:
            return False
        now = self.host.clock.time_msec()
        if self.failing_since is None:
            self.failing_since = now
            await self.host.save_progress(
                self.record,
                last_stream_ordering=self.last_stream_ordering,
                failing_since=now,
            )
        if now - self.failing_since >= self.deps.settings.give_up_after_ms:
            logger.warning(
                "giving up on a notification after failing since %d",
                self.failing_since,
                extra={"user_id": self.record.user_id, "app_id": self.record.app_id},
            )
            NOTIFICATIONS.labels("skipped").inc()
            return await self._done(action)
        self._retry_later()
        return False

    def _retry_later(self) -> None:
        if self._stopped:
            return
        delay_ms = self.backoff_ms * random.uniform(0.8, 1.2)
        self.backoff_ms = min(self.backoff_ms * 2, self.deps.settings.retry_max_ms)
        self._timer = self.host.clock.call_later(delay_ms / 1000, self._retry_due)

    def _retry_due(self) -> None:
        self._timer = None
        self._wake()

    # -- one notification ---------------------------------------------------------

    async def _deliver(self, action: PushActionLike) -> _Result:
        details = await self.deps.details.details(action.event_id)
        if details is None:
            return _Result.DONE
        settings = self.deps.settings
        badge = await self.deps.actions.badge_count(
            self.record.user_id, by_room=settings.group_unread_count_by_room
        )
        notification = event_notification(
            self.record,
            details,
            list(action.actions),
            badge=badge,
            include_content=settings.include_content,
        )
        result = await self._send(notification)
        if result is _Result.DONE:
            self.last_badge = badge
        return result

    async def _send(self, notification: JsonDict) -> _Result:
        """Offer the notification to the plugins, then to the gateway."""
        record = self.record
        answer = await self.deps.plugins.get().deliver(
            user_id=record.user_id,
            app_id=record.app_id,
            pushkey=record.pushkey,
            kind=record.kind,
            data=record.data,
            notification=notification,
        )
        if answer is True:
            NOTIFICATIONS.labels("plugin").inc()
            return _Result.DONE
        if answer is False:
            return await self._rejected("a plugin rejected the pushkey")
        try:
            rejected = await self.deps.gateway.notify(record.data["url"], notification)
        except GatewayError as exc:
            logger.warning(
                "push gateway request failed: %s",
                exc,
                extra={"user_id": record.user_id, "app_id": record.app_id},
            )
            if exc.retry:
                NOTIFICATIONS.labels("failed").inc()
                return _Result.FAILED
            NOTIFICATIONS.labels("skipped").inc()
            return _Result.DONE
        if record.pushkey in rejected:
            return await self._rejected("the push gateway rejected the pushkey")
        NOTIFICATIONS.labels("sent").inc()
        return _Result.DONE

    async def _rejected(self, reason: str) -> _Result:
        NOTIFICATIONS.labels("rejected").inc()
        self.stop()
        await self.host.remove_pusher(self.record, reason)
        return _Result.REMOVED

    async def _push_badge(self) -> None:
        """Send the new badge after the user read something (as Synapse does
        on receipts), unless it did not change. Not retried."""
        badge = await self.deps.actions.badge_count(
            self.record.user_id,
            by_room=self.deps.settings.group_unread_count_by_room,
        )
        if badge == self.last_badge or self._stopped:
            return
        result = await self._send(badge_notification(self.record, badge))
        if result is _Result.DONE:
            self.last_badge = badge
            NOTIFICATIONS.labels("badge").inc()


def http_pusher_factory(deps: HttpPusherDeps) -> Any:
    """The ``PusherFactory`` of the ``http`` kind."""

    def make(record: PusherRecord, host: PusherHost) -> HttpPusher:
        return HttpPusher(record, host, deps)

    return make
