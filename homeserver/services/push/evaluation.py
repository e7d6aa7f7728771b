"""Evaluating each new event against the push rules of the room's local
members (spec v1.19, "Push Notifications": "Push Rules").

The persister calls ``evaluate`` before writing a new live event (local, or
from federation; not backfilled, not rejected or soft-failed, not outliers
except an invite from another server into a room this one is not in)
and writes the notifying actions in the event's own transaction; once its
stream position is visible, ``on_persisted`` keeps the room cache current and
emits ``push_actions_stored``. Evaluated for: every local joined member but
the sender, and a local user invited by the event; a membership event only
for its target; not for anyone who ignores the sender.

Cheap by construction: the room (members, display names, power events) comes
from ``PushRoomStore``'s cache, each member's compiled rules from the rule
service's cache, the ignore lists from memory; one ``EventEvaluator`` per
event is shared by every member. A failure never fails the send: it is
logged and counted (``homeserver_push_evaluation_failures_total``) and the
event notifies nobody.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Collection, Mapping
from typing import Protocol

from prometheus_client import Counter, Histogram

from homeserver.events.model import Event, EventTypes
from homeserver.events.power_levels import get_named_power_level, get_user_power_level
from homeserver.events.relations import RelationTypes, relation_of
from homeserver.services.push.ignores import IgnoredBy
from homeserver.services.push.rules.evaluator import (
    CompiledRules,
    EventEvaluator,
    RoomContext,
)
from homeserver.signals import PushActionsStored, Signal
from homeserver.storage.stores.event_persistence import EventContext
from homeserver.storage.stores.push_actions import MAIN, EventPushActions, UserActions
from homeserver.storage.stores.push_rooms import PushRoom, PushRoomStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

FAILURES = Counter(
    "homeserver_push_evaluation_failures_total",
    "Events whose push rule evaluation failed (they notify nobody)",
)
EVALUATION_SECONDS = Histogram(
    "homeserver_push_evaluation_seconds", "Push rule evaluation of one event"
)
# The room of an out-of-band invite, as the rules see it.
_NO_ROOM = PushRoom(joined=frozenset(), local_members={}, power={})
# Stands for a v12 creator's infinite power level in the rules' integer world.
_MAX_LEVEL = 2**53 - 1


class RuleSource(Protocol):
    """Compiled push rules (the rules' ``PushRuleService``)."""

    async def compiled_rules_for(
        self, user_ids: Collection[str]
    ) -> Mapping[str, CompiledRules]:
        """Each user's compiled rule set (cached; one query for the rest)."""


def thread_of(event: Event) -> str:
    """The thread an event belongs to: its root for a thread reply, else
    ``main``."""
    relation = relation_of(event.content)
    if relation is not None and relation.rel_type == RelationTypes.THREAD:
        return relation.parent_id
    return MAIN


def room_context(room: PushRoom, sender: str) -> RoomContext:
    """What the rules' conditions need about the room at an event."""
    try:
        level = get_user_power_level(sender, room.power)
        room_level = get_named_power_level("notifications.room", room.power)
    except Exception:  # malformed power levels: nobody has power
        logger.warning("malformed power levels ignored for push rules")
        level, room_level = 0, 50
    sender_level = _MAX_LEVEL if level == math.inf else int(level)
    return RoomContext(
        member_count=room.member_count,
        sender_power_level=sender_level,
        notification_power_levels={"room": room_level},
    )


def _for_rules(event: Event) -> JsonDict:
    """The event as the rules read it (client format keys)."""
    fields: JsonDict = {
        "type": event.type,
        "content": event.content,
        "sender": event.sender,
        "room_id": event.room_id,
        "event_id": event.event_id,
    }
    if event.is_state():
        fields["state_key"] = event.state_key
    return fields


class PushEvaluator:
    """Plugged into the persister (``EventPersister.push``).

    Args:
        rooms: the room cache.
        rules: each member's compiled rules (``PushRuleService``).
        ignored_by: who ignores whom.
        is_local: whether a user ID is one of ours.
        clock: for the actions' received time.
        stored: the ``push_actions_stored`` signal.
    """

    def __init__(
        self,
        *,
        rooms: PushRoomStore,
        rules: RuleSource,
        ignored_by: IgnoredBy,
        is_local: Callable[[str], bool],
        clock: Clock,
        stored: Signal[PushActionsStored],
    ) -> None:
        self.rooms = rooms
        self.rules = rules
        self.ignored_by = ignored_by
        self.is_local = is_local
        self.clock = clock
        self.stored = stored

    async def evaluate(
        self, event: Event, context: EventContext
    ) -> EventPushActions | None:
        """The notifying actions of a new event; None on failure (logged).

        Outliers are not evaluated, except an invite of a local user into a
        room this server is not in (an out-of-band membership, as Synapse's
        ``is_notifiable``): it notifies the invitee, by their rules alone."""
        if event.soft_failed or event.rejected_reason is not None:
            return None
        if event.outlier and self._invited_local(event) is None:
            return None
        try:
            with EVALUATION_SECONDS.time():
                return await self._evaluate(event)
        except Exception:
            FAILURES.inc()
            logger.exception(
                "push rule evaluation failed", extra={"event_id": event.event_id}
            )
            return None

    async def _evaluate(self, event: Event) -> EventPushActions | None:
        # An out-of-band invite's room is not known here: no members, no
        # power levels (and nothing cached for it).
        room = _NO_ROOM if event.outlier else await self.rooms.get_room(event.room_id)
        ignorers = await self.ignored_by.ignorers_of(event.sender)
        members = self._recipients(event, room, ignorers)
        if not members:
            return None
        rules = await self.rules.compiled_rules_for(list(members))
        evaluator = EventEvaluator(_for_rules(event), room_context(room, event.sender))
        users = []
        for user_id, display_name in members.items():
            user_rules = rules.get(user_id)
            if user_rules is None:
                continue
            rule = evaluator.notifying_rule(
                user_rules, user_id=user_id, display_name=display_name
            )
            if rule is not None:
                users.append(UserActions(user_id, list(rule.actions), rule.highlight))
        return EventPushActions(
            event_id=event.event_id,
            room_id=event.room_id,
            thread_id=thread_of(event),
            received_ts=self.clock.time_msec(),
            users=tuple(users),
        )

    def _recipients(
        self, event: Event, room: PushRoom, ignorers: Collection[str]
    ) -> dict[str, str | None]:
        """Local user -> display name: the joined members (and a local user
        this event invites), without the sender and those ignoring them.

        A membership event is evaluated for its target alone (when local,
        not its sender, and joined or invited by it), as Synapse does: no
        default rule lets anyone else be notified of a join or a leave, and
        evaluating every member for every join makes filling a big room
        quadratic."""
        invited = self._invited_local(event)
        if event.type == EventTypes.MEMBER:
            target = event.state_key
            members: dict[str, str | None] = {}
            if target is not None and target in room.local_members:
                members[target] = room.local_members[target]
            elif invited is not None:
                members[invited] = None
        else:
            members = dict(room.local_members)
            if invited is not None:
                members.setdefault(invited, None)
        members.pop(event.sender, None)
        for user_id in ignorers:
            members.pop(user_id, None)
        return members

    def _invited_local(self, event: Event) -> str | None:
        """The local user the event invites, if it is such an invite."""
        if (
            event.type == EventTypes.MEMBER
            and event.content.get("membership") == "invite"
            and event.state_key is not None
            and self.is_local(event.state_key)
        ):
            return event.state_key
        return None

    def on_persisted(
        self,
        event: Event,
        context: EventContext,
        actions: EventPushActions | None,
        stream_ordering: int,
    ) -> None:
        """The event is committed and visible: keep the room cache current,
        then tell the pushers whom it notifies."""
        if context.update_current_state and (
            event.is_state() or context.resolved or context.new_current_state
        ):
            self.rooms.apply(
                event,
                state_reset=context.resolved or context.new_current_state is not None,
            )
        if actions is not None and actions.users:
            self.stored.emit(
                PushActionsStored(
                    room_id=actions.room_id,
                    event_id=actions.event_id,
                    stream_ordering=stream_ordering,
                    user_ids=tuple(u.user_id for u in actions.users),
                )
            )
