"""A tiny in-memory room for auth rule tests: builds Events with made-up IDs."""

from __future__ import annotations

import itertools
from typing import Any

from homeserver.events.auth_rules import (
    AuthError,
    SignatureVerifier,
    check_auth_rules,
)
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.events.room_versions import (
    KNOWN_ROOM_VERSIONS,
    EventIdFormat,
    RoomVersion,
)
from homeserver.types import JsonDict

ALICE = "@alice:a.test"  # the creator
BOB = "@bob:b.test"
CAROL = "@carol:a.test"
MOD = "@mod:a.test"
ALL_VERSIONS = [str(n) for n in range(1, 13)]

_counter = itertools.count()


def make_event(
    version: RoomVersion,
    event_type: str,
    sender: str,
    content: JsonDict,
    *,
    room_id: str | None,
    state_key: str | None = None,
    prev_events: list[str] | None = None,
    event_id: str | None = None,
    extra: JsonDict | None = None,
) -> Event:
    """An Event with a fresh ID in the room version's ID format."""
    if event_id is None:
        n = next(_counter)
        if version.event_id_format is EventIdFormat.V1:
            domain = sender.partition(":")[2] or "x.test"
            event_id = f"${n}:{domain}"
        else:
            event_id = f"$ev{n}hashhashhash"
    pdu: JsonDict = {
        "type": event_type,
        "sender": sender,
        "content": content,
        "auth_events": [],
        "prev_events": [_ref(version, e) for e in (prev_events or [])],
        "depth": 1,
        "origin_server_ts": 0,
    }
    if room_id is not None:
        pdu["room_id"] = room_id
    if state_key is not None:
        pdu["state_key"] = state_key
    pdu.update(extra or {})
    return Event(pdu=pdu, room_version=version, event_id=event_id)


def _ref(version: RoomVersion, event_id: str) -> Any:
    if version.event_id_format is EventIdFormat.V1:
        return [event_id, {"sha256": "aaaa"}]
    return event_id


class Room:
    """A room's state: build events in it and check them against that state."""

    def __init__(
        self,
        version: str = "10",
        *,
        creator: str = ALICE,
        create_content: JsonDict | None = None,
    ) -> None:
        self.version = KNOWN_ROOM_VERSIONS[version]
        content: JsonDict = {"room_version": version}
        if not self.version.implicit_room_creator:
            content["creator"] = creator
        content.update(create_content or {})
        if self.version.room_id_is_create_hash:
            self.create = make_event(
                self.version,
                EventTypes.CREATE,
                creator,
                content,
                room_id=None,
                state_key="",
            )
            self.room_id = "!" + self.create.event_id[1:]
        else:
            self.room_id = f"!room{next(_counter)}:" + creator.partition(":")[2]
            self.create = make_event(
                self.version,
                EventTypes.CREATE,
                creator,
                content,
                room_id=self.room_id,
                state_key="",
            )
        self.creator = creator
        self.state: dict[StateKey, Event] = {(EventTypes.CREATE, ""): self.create}

    @classmethod
    def standard(
        cls, version: str = "10", *, join_rule: str = "invite", **kwargs: Any
    ) -> Room:
        """Alice created it and joined; power levels give Alice 100 (v1-v11)
        and @mod 50; the join rule is ``join_rule``; @mod is joined."""
        room = cls(version, **kwargs)
        room.join(room.creator)
        users = {MOD: 50}
        if not room.version.additional_creators:
            users[room.creator] = 100
        room.set_state(EventTypes.POWER_LEVELS, "", room.creator, {"users": users})
        room.set_state(
            EventTypes.JOIN_RULES, "", room.creator, {"join_rule": join_rule}
        )
        room.join(MOD)
        return room

    def event(
        self,
        event_type: str,
        sender: str,
        content: JsonDict | None = None,
        *,
        state_key: str | None = None,
        prev_events: list[str] | None = None,
        event_id: str | None = None,
        extra: JsonDict | None = None,
    ) -> Event:
        """A new event in this room (not added to the state)."""
        return make_event(
            self.version,
            event_type,
            sender,
            content if content is not None else {},
            room_id=self.room_id,
            state_key=state_key,
            prev_events=prev_events,
            event_id=event_id,
            extra=extra,
        )

    def member(
        self, sender: str, target: str, membership: str, **content: Any
    ) -> Event:
        """A new m.room.member event."""
        return self.event(
            EventTypes.MEMBER,
            sender,
            {"membership": membership, **content},
            state_key=target,
        )

    def set_state(
        self, event_type: str, state_key: str, sender: str, content: JsonDict
    ) -> Event:
        """Put a state event straight into the state, unchecked."""
        event = self.event(event_type, sender, content, state_key=state_key)
        self.state[(event_type, state_key)] = event
        return event

    def set_membership(self, user: str, membership: str, sender: str = "") -> Event:
        """Force a membership into the state, unchecked."""
        return self.set_state(
            EventTypes.MEMBER, user, sender or user, {"membership": membership}
        )

    def join(self, user: str) -> Event:
        return self.set_membership(user, "join")

    def power_levels(self, content: JsonDict, sender: str = "") -> Event:
        return self.set_state(
            EventTypes.POWER_LEVELS, "", sender or self.creator, content
        )

    def check(
        self, event: Event, verify_signature: SignatureVerifier | None = None
    ) -> None:
        check_auth_rules(event, self.state, verify_signature=verify_signature)

    def allowed(
        self, event: Event, verify_signature: SignatureVerifier | None = None
    ) -> bool:
        try:
            self.check(event, verify_signature)
        except AuthError:
            return False
        return True

    def apply(self, event: Event) -> Event:
        """Check an event, then add it to the state if it is a state event."""
        self.check(event)
        if event.is_state():
            self.state[event.state_tuple] = event
        return event
