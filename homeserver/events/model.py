"""The Event: a PDU's JSON plus what we know about it locally.

Spec: server-server-api.md "PDUs"; rooms/fragments/v*-event-format.md.
Pure: no I/O. The JSON is kept exactly as received/built (it is what gets
hashed and signed); accessors read from it.
"""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.events.ids import room_id_of_create_event
from homeserver.events.room_versions import EventIdFormat, RoomVersion
from homeserver.types import JsonDict


class EventTypes:
    """Event types the server has rules about."""

    CREATE = "m.room.create"
    MEMBER = "m.room.member"
    POWER_LEVELS = "m.room.power_levels"
    JOIN_RULES = "m.room.join_rules"
    HISTORY_VISIBILITY = "m.room.history_visibility"
    THIRD_PARTY_INVITE = "m.room.third_party_invite"
    REDACTION = "m.room.redaction"
    ALIASES = "m.room.aliases"
    CANONICAL_ALIAS = "m.room.canonical_alias"
    NAME = "m.room.name"
    TOPIC = "m.room.topic"
    AVATAR = "m.room.avatar"
    GUEST_ACCESS = "m.room.guest_access"
    ENCRYPTION = "m.room.encryption"
    TOMBSTONE = "m.room.tombstone"
    SERVER_ACL = "m.room.server_acl"
    MESSAGE = "m.room.message"
    ENCRYPTED = "m.room.encrypted"


class Membership:
    """m.room.member membership values."""

    JOIN = "join"
    INVITE = "invite"
    LEAVE = "leave"
    BAN = "ban"
    KNOCK = "knock"
    ALL = (JOIN, INVITE, KNOCK, LEAVE, BAN)


class JoinRules:
    """m.room.join_rules values."""

    PUBLIC = "public"
    INVITE = "invite"
    KNOCK = "knock"
    RESTRICTED = "restricted"
    KNOCK_RESTRICTED = "knock_restricted"
    PRIVATE = "private"


StateKey = tuple[str, str]


@attrs.define(eq=False)
class Event:
    """One room event.

    Args:
        pdu: the event JSON as it travels over federation (without ``event_id``
            for room v3+).
        room_version: the rules of the room it belongs to.
        event_id: its ID; computed from the reference hash for v3+ rooms.
        rejected_reason: why it was rejected, if it was.
        outlier: we have it without the state before it.
        soft_failed: accepted into the DAG but hidden from clients.
    """

    pdu: JsonDict
    room_version: RoomVersion
    event_id: str
    rejected_reason: str | None = None
    outlier: bool = False
    soft_failed: bool = False
    # Local bookkeeping, filled in by storage.
    stream_ordering: int | None = None
    unsigned: JsonDict = attrs.field(factory=dict)
    redacted_by: str | None = None
    replaces_state: str | None = None
    sender_device_id: str | None = None
    txn_id: str | None = None

    @property
    def room_id(self) -> str:
        """The room ID; for a v12 create event, derived from its own ID."""
        room_id = self.pdu.get("room_id")
        if room_id is None and self.room_version.room_id_is_create_hash:
            return room_id_of_create_event(self.event_id)
        return str(room_id)

    @property
    def type(self) -> str:
        return str(self.pdu["type"])

    @property
    def state_key(self) -> str | None:
        value = self.pdu.get("state_key")
        return value if isinstance(value, str) else None

    def is_state(self) -> bool:
        """Whether it is a state event (it has a state_key)."""
        return "state_key" in self.pdu

    @property
    def state_tuple(self) -> StateKey:
        """``(type, state_key)``; only meaningful for state events."""
        return (self.type, self.state_key or "")

    @property
    def sender(self) -> str:
        return str(self.pdu["sender"])

    @property
    def content(self) -> JsonDict:
        content = self.pdu.get("content")
        return content if isinstance(content, dict) else {}

    @property
    def depth(self) -> int:
        return int(self.pdu.get("depth", 0))

    @property
    def origin_server_ts(self) -> int:
        return int(self.pdu.get("origin_server_ts", 0))

    @property
    def membership(self) -> str | None:
        value = self.content.get("membership")
        return value if isinstance(value, str) else None

    @property
    def redacts(self) -> str | None:
        """The event a redaction redacts (top level before v11, content after)."""
        if self.room_version.redacts_in_content:
            value = self.content.get("redacts")
        else:
            value = self.pdu.get("redacts")
        return value if isinstance(value, str) else None

    @property
    def prev_event_ids(self) -> list[str]:
        return _event_ids(self.pdu.get("prev_events"), self.room_version)

    @property
    def auth_event_ids(self) -> list[str]:
        return _event_ids(self.pdu.get("auth_events"), self.room_version)

    def __repr__(self) -> str:
        return (
            f"<Event {self.event_id} {self.type} {self.state_key!r} from {self.sender}>"
        )


def _event_ids(value: Any, room_version: RoomVersion) -> list[str]:
    if not isinstance(value, list):
        return []
    if room_version.event_id_format is EventIdFormat.V1:
        # v1/v2 reference events as [event_id, {hashes}] pairs.
        return [str(item[0]) for item in value if isinstance(item, list) and item]
    return [str(item) for item in value if isinstance(item, str)]
