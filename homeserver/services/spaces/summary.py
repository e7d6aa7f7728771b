"""Room summaries for spaces: who may see a room, and what it looks like.

Spec: client-server API "Spaces" (``GET /hierarchy``, space_hierarchy.yaml)
and server-server API "Spaces" (``GET /_matrix/federation/v1/hierarchy``).

A room is shown to a user (spec, and Synapse's ``_is_local_room_accessible``)
if its join rule is ``public`` (or ``knock``/``knock_restricted`` in a room
version that has them), if it is ``world_readable``, if the user is joined or
invited, or if it is ``restricted``/``knock_restricted`` and the user is joined
to one of the rooms its ``allow`` list names. For another server the same
rules hold with "the server has a joined or invited user" in place of the
user's membership, and "has a user in an allowed room" for restricted rooms.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

import attrs

from homeserver.events.ids import try_domain_of
from homeserver.events.model import Event, EventTypes, JoinRules, Membership
from homeserver.events.redaction import redact_event
from homeserver.events.room_versions import RoomVersion
from homeserver.services.rooms.room_list import (
    LISTED_JOIN_RULES,
    STATE_TYPES,
    plain_topic,
)
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)

SPACE_CHILD = "m.space.child"
ROOM_TYPE_SPACE = "m.space"
# Rules that let anyone ask to join, whatever the room version says (remote
# summaries carry no version, so knock rules are taken at their word).
_OPEN_RULES = LISTED_JOIN_RULES
# ``order`` of m.space.child: at most 50 characters from \x20 to \x7E.
_BAD_ORDER = re.compile(r"[^\x20-\x7E]")
# The state a summary reads: a public room list entry's, and the encryption.
_SUMMARY_TYPES = (*STATE_TYPES, EventTypes.ENCRYPTION)


@attrs.frozen
class RoomEntry:
    """A room's summary and (for a space) its sorted, stripped child events."""

    room_id: str
    room: JsonDict
    children_state: Sequence[JsonDict] = ()

    def as_json(self, for_client: bool = False) -> JsonDict:
        """The summary with ``children_state``; a client never sees
        ``allowed_room_ids`` (a server-to-server field)."""
        result = dict(self.room)
        if for_client:
            result.pop("allowed_room_ids", None)
        result["children_state"] = list(self.children_state)
        return result


@attrs.frozen
class _RoomFacts:
    """What the accessibility rules need of a room's current state."""

    version: RoomVersion
    state: dict[str, Event]
    members: dict[str, tuple[str, str]]

    def content(self, event_type: str) -> JsonDict:
        event = self.state.get(event_type)
        return event.content if event is not None else {}

    @property
    def join_rule(self) -> object:
        return self.content(EventTypes.JOIN_RULES).get("join_rule")

    def allowed_room_ids(self) -> list[str]:
        """The rooms whose members may join, if the join rule is restricted."""
        rule = self.join_rule
        if not (
            (rule == JoinRules.RESTRICTED and self.version.restricted_join_rule)
            or (
                rule == JoinRules.KNOCK_RESTRICTED
                and self.version.knock_restricted_join_rule
            )
        ):
            return []
        allow = self.content(EventTypes.JOIN_RULES).get("allow")
        return [
            a["room_id"]
            for a in (allow if isinstance(allow, list) else [])
            if isinstance(a, dict)
            and a.get("type") == "m.room_membership"
            and isinstance(a.get("room_id"), str)
        ]


class RoomSummaries:
    """Summaries of the rooms this server knows, and who may see them."""

    def __init__(
        self, server_name: str, room_state: RoomStateStore, events: EventStore
    ) -> None:
        self.server_name = server_name
        self.room_state = room_state
        self.events = events

    async def is_host_joined(self, room_id: str, server: str | None = None) -> bool:
        """Whether ``server`` (this one by default) has a joined user in the room."""
        server = server or self.server_name
        members = await self.room_state.get_members(room_id)
        return any(
            m == Membership.JOIN and try_domain_of(user) == server
            for user, (m, _) in members.items()
        )

    async def is_user_in_rooms(self, room_ids: Iterable[str], user_id: str) -> bool:
        """Whether the user is joined to any of ``room_ids``."""
        wanted = set(room_ids)
        if not wanted:
            return False
        return bool(
            wanted.intersection(await self.room_state.get_rooms_for_user(user_id))
        )

    async def _facts(self, room_id: str) -> _RoomFacts | None:
        version = await self.room_state.get_room_version(room_id)
        if version is None:
            return None
        ids = await self.room_state.get_current_state_ids(room_id)
        wanted = {t: ids[(t, "")] for t in _SUMMARY_TYPES if (t, "") in ids}
        found = await self.events.get_events(list(wanted.values()))
        state = {t: _served(found[eid]) for t, eid in wanted.items() if eid in found}
        members = await self.room_state.get_members(room_id)
        return _RoomFacts(version=version, state=state, members=members)

    async def is_accessible(
        self, room_id: str, user_id: str | None = None, origin: str | None = None
    ) -> bool:
        """Whether the room may be shown to ``user_id`` (a local request) or
        to the server ``origin`` (a federation request)."""
        facts = await self._facts(room_id)
        return facts is not None and await self._accessible(facts, user_id, origin)

    async def _accessible(
        self, facts: _RoomFacts, user_id: str | None, origin: str | None
    ) -> bool:
        rule = facts.join_rule
        if (
            rule == JoinRules.PUBLIC
            or (rule == JoinRules.KNOCK and facts.version.knock)
            or (
                rule == JoinRules.KNOCK_RESTRICTED
                and facts.version.knock_restricted_join_rule
            )
        ):
            return True
        visibility = facts.content(EventTypes.HISTORY_VISIBILITY)
        if visibility.get("history_visibility") == "world_readable":
            return True
        allowed = facts.allowed_room_ids()
        if user_id is not None:
            membership = facts.members.get(user_id, ("", ""))[0]
            if membership in (Membership.JOIN, Membership.INVITE):
                return True
            return await self.is_user_in_rooms(allowed, user_id)
        if origin is not None:
            if any(
                m in (Membership.JOIN, Membership.INVITE)
                and try_domain_of(user) == origin
                for user, (m, _) in facts.members.items()
            ):
                return True
            for allowed_room in allowed:
                if await self.is_host_joined(allowed_room, origin):
                    return True
        return False

    async def is_remote_accessible(
        self, user_id: str, room_id: str, room: JsonDict
    ) -> bool:
        """Whether a summary another server gave may be shown to the user."""
        if (
            room.get("join_rule", JoinRules.PUBLIC) in _OPEN_RULES
            or room.get("world_readable") is True
        ):
            return True
        allowed = room.get("allowed_room_ids")
        if isinstance(allowed, list) and await self.is_user_in_rooms(
            [r for r in allowed if isinstance(r, str)], user_id
        ):
            return True
        # The user may be invited, or joined to a room we just left.
        return await self.is_accessible(room_id, user_id=user_id)

    async def summarize(
        self,
        room_id: str,
        suggested_only: bool,
        *,
        user_id: str | None = None,
        origin: str | None = None,
        include_children: bool = True,
    ) -> RoomEntry | None:
        """The room's entry, or None if the user or server may not see it."""
        facts = await self._facts(room_id)
        if facts is None or not await self._accessible(facts, user_id, origin):
            return None
        room = _room_json(room_id, facts)
        if room.get("room_type") != ROOM_TYPE_SPACE or not include_children:
            return RoomEntry(room_id, room)
        children = await self._child_events(room_id)
        if suggested_only:
            children = [e for e in children if e.content.get("suggested") is True]
        stripped = [
            {
                "type": e.type,
                "state_key": e.state_key,
                "content": e.content,
                "sender": e.sender,
                "origin_server_ts": e.origin_server_ts,
            }
            for e in children
        ]
        return RoomEntry(room_id, room, stripped)

    async def _child_events(self, room_id: str) -> list[Event]:
        """The room's m.space.child state with a valid ``via``, in the spec's
        order: valid ``order`` first (by order), then by timestamp, room ID."""
        ids = await self.room_state.get_current_state_ids(room_id)
        found = await self.events.get_events(
            [eid for (t, _), eid in ids.items() if t == SPACE_CHILD]
        )
        children = [_served(e) for e in found.values()]
        return sorted(
            (e for e in children if has_valid_via(e.content)), key=_child_order
        )


def _served(event: Event) -> Event:
    """The event as clients see it (redacted if it was redacted)."""
    return redact_event(event) if event.redacted_by else event


def has_valid_via(content: JsonDict) -> bool:
    """Whether ``via`` is a non-empty list of strings (redacted: no ``via``)."""
    via = content.get("via")
    return isinstance(via, list) and bool(via) and all(isinstance(v, str) for v in via)


def _child_order(event: Event) -> tuple[bool, str, int, str]:
    order = event.content.get("order")
    if not isinstance(order, str) or len(order) > 50 or _BAD_ORDER.search(order):
        order = None
    return order is None, order or "", event.origin_server_ts, event.state_key or ""


def _room_json(room_id: str, facts: _RoomFacts) -> JsonDict:
    """The room summary (room_summary.yaml); unset fields are left out."""
    content = facts.content

    def text(event_type: str, key: str) -> str | None:
        value = content(event_type).get(key)
        return value if isinstance(value, str) and value else None

    visibility = content(EventTypes.HISTORY_VISIBILITY).get("history_visibility")
    rule = facts.join_rule
    entry: JsonDict = {
        "room_id": room_id,
        "room_version": facts.version.identifier,
        "name": text(EventTypes.NAME, "name"),
        "topic": plain_topic(content(EventTypes.TOPIC)),
        "canonical_alias": text(EventTypes.CANONICAL_ALIAS, "alias"),
        "num_joined_members": sum(
            1 for m, _ in facts.members.values() if m == Membership.JOIN
        ),
        "avatar_url": text(EventTypes.AVATAR, "url"),
        "join_rule": rule if isinstance(rule, str) else None,
        "world_readable": visibility == "world_readable",
        "guest_can_join": content(EventTypes.GUEST_ACCESS).get("guest_access")
        == "can_join",
        "room_type": text(EventTypes.CREATE, "type"),
        "encryption": text(EventTypes.ENCRYPTION, "algorithm"),
    }
    allowed = facts.allowed_room_ids()
    if allowed:
        entry["allowed_room_ids"] = allowed
    return {k: v for k, v in entry.items() if v is not None}
