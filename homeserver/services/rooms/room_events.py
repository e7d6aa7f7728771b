"""Sending messages and state, and redacting, as a local user.

Spec: client-server API, "Sending events to a room", "Redactions".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from homeserver.config.model import RateLimitConfig
from homeserver.errors import (
    BadJson,
    Codes,
    Forbidden,
    InvalidParam,
    MatrixError,
    NotFound,
)
from homeserver.events.auth_rules import get_named_power_level, get_user_power_level
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.shadow_ban import fake_event_id
from homeserver.services.rooms.event_creation import EventCreationService
from homeserver.services.rooms.ports import NoRoomPolicy, RoomPolicy
from homeserver.storage.stores.events import EventStore
from homeserver.types import JsonDict
from homeserver.util.ports import Port
from homeserver.util.ratelimit import Ratelimiter

MAX_TYPE_LENGTH = 255
StateCheck = Callable[[Event, Mapping[StateKey, Event]], Awaitable[None]]


def all_of(*checks: StateCheck) -> StateCheck:
    """One check that runs ``checks`` in order."""

    async def run_all(event: Event, auth_events: Mapping[StateKey, Event]) -> None:
        for check in checks:
            await check(event, auth_events)

    return run_all


class RelationCheck(Protocol):
    """Refuses invalid relations (edits, reactions, threads) of sent events."""

    async def check(self, event: Event, auth_events: Mapping[StateKey, Event]) -> None:
        """Raise a 400 MatrixError if ``event``'s relation is invalid."""
        ...


class NoRelationCheck:
    """No relations domain: relations are not checked."""

    async def check(self, event: Event, auth_events: Mapping[StateKey, Event]) -> None:
        return None


def _check_type(event_type: str) -> None:
    if not event_type or len(event_type.encode()) > MAX_TYPE_LENGTH:
        raise BadJson("Invalid event type")


class RoomEventService:
    """Messages, state and redactions from local users."""

    def __init__(
        self,
        *,
        creator: EventCreationService,
        events: EventStore,
        ratelimiter: Ratelimiter,
        rates: RateLimitConfig,
        state_check: StateCheck | None = None,
    ) -> None:
        self.creator = creator
        self.events = events
        self.ratelimiter = ratelimiter
        self.rates = rates
        # Extra validation of client-sent state (m.room.canonical_alias
        # aliases; invites of other servers' users, which they must sign).
        self.state_check = state_check
        # Relations (edits, reactions, threads) are checked by the relations
        # domain, plugged in by the bind step.
        self.relations: Port[RelationCheck] = Port(NoRelationCheck())
        # Content policy (plugins' chatly_check_event), plugged in by the bind
        # step: may refuse or rewrite what a local user sends.
        self.policy: Port[RoomPolicy] = Port(NoRoomPolicy())

    async def _ratelimit(self, requester: Requester) -> None:
        """``rate_limiting.message``: every event a user sends counts (a retry
        of a transaction ID that already succeeded does not)."""
        await self.ratelimiter.check_requester("message", requester, self.rates.message)

    def _limit(self, requester: Requester) -> Callable[[], Awaitable[None]]:
        return lambda: self._ratelimit(requester)

    async def send_message(
        self,
        requester: Requester,
        room_id: str,
        event_type: str,
        txn_id: str | None,
        content: JsonDict,
        ts: int | None = None,
    ) -> JsonDict:
        """PUT /rooms/{roomId}/send/{eventType}/{txnId} (``txn_id`` None: the
        legacy POST without one, never deduplicated; ``ts``: an application
        service's timestamp, ignored for anyone else)."""
        _check_type(event_type)
        origin_server_ts = _massaged_ts(requester, ts)
        if requester.shadow_banned:
            return {"event_id": fake_event_id()}
        if event_type == EventTypes.REDACTION:
            # Free-form content, not a redact body: its reason is checked
            # here. Counted (rate limits) by redact().
            reason = content.get("reason")
            if reason is not None and not isinstance(reason, str):
                raise BadJson("reason must be a string")
            return await self.redact(
                requester, room_id, str(content.get("redacts", "")), txn_id, reason
            )
        content = await self.policy.get().check_local_event(
            room_id, requester.user_id, event_type, content, None, requester.device_id
        )
        event = await self.creator.send(
            room_id,
            requester.user_id,
            event_type,
            content,
            device_id=requester.device_id,
            txn_id=txn_id,
            check=self.relations.get().check,
            limit=self._limit(requester),
            origin_server_ts=origin_server_ts,
        )
        return {"event_id": event.event_id}

    async def set_state(
        self,
        requester: Requester,
        room_id: str,
        event_type: str,
        state_key: str,
        content: JsonDict,
        ts: int | None = None,
    ) -> JsonDict:
        """PUT /rooms/{roomId}/state/{eventType}/{stateKey} (``ts``: an
        application service's timestamp, ignored for anyone else)."""
        _check_type(event_type)
        origin_server_ts = _massaged_ts(requester, ts)
        if len(state_key.encode()) > MAX_TYPE_LENGTH:
            raise BadJson("state_key is too long")
        if requester.shadow_banned:
            return {"event_id": fake_event_id()}
        await self._ratelimit(requester)
        content = await self.policy.get().check_local_event(
            room_id,
            requester.user_id,
            event_type,
            content,
            state_key,
            requester.device_id,
        )
        event = await self.creator.send(
            room_id,
            requester.user_id,
            event_type,
            content,
            state_key,
            device_id=requester.device_id,
            check=all_of(
                *(c for c in (self.state_check, self.relations.get().check) if c)
            ),
            deduplicate=True,
            origin_server_ts=origin_server_ts,
        )
        return {"event_id": event.event_id}

    async def redact(
        self,
        requester: Requester,
        room_id: str,
        event_id: str,
        txn_id: str | None,
        reason: str | None,
    ) -> JsonDict:
        """PUT /rooms/{roomId}/redact/{eventId}/{txnId}: delete for everyone
        (``txn_id`` None: the legacy POST without one)."""
        if requester.shadow_banned:
            return {"event_id": fake_event_id()}
        target = await self.events.get_event(event_id)
        if target is None:
            raise NotFound("Event not found")
        if target.room_id != room_id:
            # A redaction only ever applies to an event of its own room (400,
            # as Synapse answers).
            raise MatrixError(
                400, "Cannot redact an event of another room", Codes.INVALID_PARAM
            )
        content: JsonDict = {"reason": reason} if reason else {}
        version = await self.creator.room_version(room_id)
        if version.redacts_in_content:
            content["redacts"] = event_id

        async def may_redact(
            event: Event, auth_events: Mapping[StateKey, Event]
        ) -> None:
            if target.sender == requester.user_id:
                return
            power = get_user_power_level(requester.user_id, auth_events)
            if power < get_named_power_level("redact", auth_events):
                raise Forbidden("You don't have permission to redact events")

        event = await self.creator.send(
            room_id,
            requester.user_id,
            EventTypes.REDACTION,
            content,
            device_id=requester.device_id,
            txn_id=txn_id,
            redacts=event_id,
            check=may_redact,
            limit=self._limit(requester),
        )
        return {"event_id": event.event_id}


# The largest origin_server_ts: canonical JSON integers are at most 2**53 - 1.
MAX_TS = 2**53 - 1


def _massaged_ts(requester: Requester, ts: int | None) -> int | None:
    """The ``ts`` of an application service's request (application-service
    API, "Timestamp massaging"); None for everyone else.

    Raises:
        MatrixError: 400 M_INVALID_PARAM outside 0 .. 2**53 - 1.
    """
    if ts is None or requester.app_service_id is None:
        return None
    if not 0 <= ts <= MAX_TS:
        raise InvalidParam("ts must be a timestamp in milliseconds")
    return ts
