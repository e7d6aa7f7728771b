"""``GET /notifications``: the events that notified a user, newest first.

Spec: client-server API v1.19, "Push Notifications", "Listing
Notifications". ``from`` is the ``next_token`` of the previous page (a stream
ordering); ``only=highlight`` keeps the highlights. Entries are kept 30 days
once read (docs/push.md, "Unread counts and notifications").
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, task

from homeserver.errors import InvalidParam
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.serializer import EventSerializer
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.push_actions import RETENTION_MS, PushActionsStore
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
PRUNE_INTERVAL_SECONDS = 3600


class NotificationsService:
    """Lists a user's notifications.

    Args:
        actions: the stored push actions.
        events: the events they name.
        serializer: the client event format.
    """

    def __init__(
        self,
        *,
        actions: PushActionsStore,
        events: EventStore,
        serializer: EventSerializer,
    ) -> None:
        self.actions = actions
        self.events = events
        self.serializer = serializer

    async def get_notifications(
        self,
        requester: Requester,
        *,
        from_token: str | None,
        limit: int | None,
        only: str | None,
    ) -> JsonDict:
        """One page of the response body.

        Raises:
            InvalidParam: a malformed ``from`` or a negative ``limit``.
        """
        before = None
        if from_token is not None:
            try:
                before = int(from_token)
            except ValueError:
                raise InvalidParam("Invalid 'from' token") from None
        if limit is not None and limit < 0:
            raise InvalidParam("'limit' must not be negative")
        count = min(DEFAULT_LIMIT if limit is None else limit, MAX_LIMIT)
        found = await self.actions.get_notifications(
            requester.user_id,
            before=before,
            limit=count,
            only_highlight=only is not None and "highlight" in only,
        )
        events = await self.events.get_events([n.action.event_id for n in found])
        present = [n for n in found if n.action.event_id in events]
        serialized = await self.serializer.serialize(
            [events[n.action.event_id] for n in present], requester
        )
        body: JsonDict = {
            "notifications": [
                {
                    "actions": n.action.actions,
                    "event": event,
                    "profile_tag": None,
                    "read": n.read,
                    "room_id": n.action.room_id,
                    "ts": n.action.received_ts,
                }
                for n, event in zip(present, serialized, strict=True)
            ]
        }
        if found and len(found) == count:
            body["next_token"] = str(found[-1].action.stream_ordering)
        return body


class ReadActionsPruner:
    """Deletes read push actions older than ``RETENTION_MS`` once an hour
    (unread ones stay: they are the unread counts).

    Args:
        actions: the stored push actions.
        clock: the clock.
    """

    def __init__(self, actions: PushActionsStore, clock: Clock) -> None:
        self.actions = actions
        self.clock = clock
        self._timer: task.LoopingCall | None = None

    def start(self) -> None:
        """Prune every ``PRUNE_INTERVAL_SECONDS``."""
        self._timer = self.clock.looping_call(PRUNE_INTERVAL_SECONDS, self._tick)

    def stop(self) -> None:
        """Stop pruning."""
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._timer = None

    def _tick(self) -> defer.Deferred[Any]:
        return run_in_background("prune_push_actions", self.prune())

    async def prune(self) -> int:
        """Delete the read actions past retention now; how many."""
        return await self.actions.delete_old_read_actions(
            self.clock.time_msec() - RETENTION_MS
        )
