"""Filing reports: ``POST /rooms/{roomId}/report/{eventId}``,
``POST /rooms/{roomId}/report`` and ``POST /users/{userId}/report``.

Spec: client-server API "Reporting content" (report_content.yaml). As
Synapse: an event may be reported by anyone who may see it (else 404, also
for a redacted event); a room that the server knows by anyone (else 404); a
user report is answered 200 whatever happens to it, and kept only for an
existing local user, so that it never tells whether a user exists (the spec
allows either; it leaks nothing). Every report counts against
``rate_limiting.reports`` first (429); a user report's reason may hold at
most 1,000 characters (400 M_BAD_JSON), as Synapse says.
"""

from __future__ import annotations

import attrs

from homeserver.config.sections.limits import RateLimit
from homeserver.errors import Codes, MatrixError, NotFound
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.visibility import VisibilityService
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.reports import ReportStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.users import UserStore
from homeserver.types import JsonDict, UserID
from homeserver.util.clock import Clock
from homeserver.util.ratelimit import Ratelimiter

MAX_USER_REPORT_REASON = 1000


@attrs.frozen
class EventReport:
    """A parsed event report body: ``reason`` and the deprecated ``score``."""

    reason: str | None = None
    score: int | None = None

    def content(self) -> JsonDict:
        """What is kept of the body (Synapse keeps the body as given)."""
        kept: JsonDict = {}
        if self.reason is not None:
            kept["reason"] = self.reason
        if self.score is not None:
            kept["score"] = self.score
        return kept


class ReportService:
    """Files users' reports."""

    def __init__(
        self,
        *,
        server_name: str,
        store: ReportStore,
        events: EventStore,
        room_state: RoomStateStore,
        users: UserStore,
        visibility: VisibilityService,
        ratelimiter: Ratelimiter,
        rate: RateLimit,
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.events = events
        self.room_state = room_state
        self.users = users
        self.visibility = visibility
        self.ratelimiter = ratelimiter
        self.rate = rate
        self.clock = clock

    async def _limit(self, requester: Requester) -> None:
        await self.ratelimiter.check_requester("reports", requester, self.rate)

    async def report_event(
        self, requester: Requester, room_id: str, event_id: str, report: EventReport
    ) -> None:
        """Report an event the user may see.

        Raises:
            MatrixError: 404 M_NOT_FOUND for an event that is unknown, of
                another room, redacted, or hidden from the user; 429.
        """
        await self._limit(requester)
        event = await self.events.get_event(event_id)
        visible = (
            event is not None
            and event.room_id == room_id
            and not event.rejected_reason
            and not event.soft_failed
            and not event.redacted_by
        )
        if visible and event is not None:
            viewer = await self.visibility.for_user(room_id, requester.user_id)
            visible = await viewer.is_visible(event)
        if not visible:
            raise NotFound(
                "Unable to report event: it does not exist or you aren't able to see it."
            )
        await self.store.insert_report(
            "event",
            self.clock.time_msec(),
            room_id=room_id,
            event_id=event_id,
            user_id=requester.user_id,
            reason=report.reason,
            content=report.content(),
        )

    async def report_room(
        self, requester: Requester, room_id: str, reason: str
    ) -> None:
        """Report a room this server knows (membership not needed).

        Raises:
            MatrixError: 404 M_NOT_FOUND for a room we do not know; 429.
        """
        await self._limit(requester)
        if await self.room_state.get_room_version(room_id) is None:
            raise NotFound("Room does not exist")
        await self.store.insert_report(
            "room",
            self.clock.time_msec(),
            room_id=room_id,
            user_id=requester.user_id,
            reason=reason,
        )

    async def report_user(
        self, requester: Requester, user_id: str, reason: str
    ) -> None:
        """Report a user; kept only for an existing local user, answered
        the same either way.

        Raises:
            MatrixError: 400 for a malformed user ID or a reason over 1,000
                characters; 429.
        """
        target = UserID.parse(user_id)
        await self._limit(requester)
        if len(reason) > MAX_USER_REPORT_REASON:
            raise MatrixError(
                400, "Reason must be less than 1000 characters", Codes.BAD_JSON
            )
        if target.domain != self.server_name:
            return  # nothing we could act on; say nothing about it
        if await self.users.get_user(target.to_string()) is None:
            return  # hide that the user does not exist
        await self.store.insert_report(
            "user",
            self.clock.time_msec(),
            target_user_id=target.to_string(),
            user_id=requester.user_id,
            reason=reason,
        )
