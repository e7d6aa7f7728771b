"""A room as another server holds it: events built and signed by hand.

Lets receiving tests hand our server PDUs exactly as a remote server would
send them (real hashes and ed25519 signatures), including forks, bad
signatures and tampered content.
"""

from __future__ import annotations

from typing import Any

from signedjson.key import generate_signing_key, get_verify_key
from signedjson.sign import SignatureVerifyException
from signedjson.types import SigningKey, VerifyKey

from homeserver.events.builder import build_event
from homeserver.events.ids import domain_of
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from homeserver.events.signing import verify_json
from homeserver.services.rooms.event_creation import auth_state
from homeserver.types import JsonDict

REMOTE = "remote.test"
REMOTE_KEY = generate_signing_key("r1")


class StaticKeyRing:
    """A key ring that knows a fixed set of servers' keys."""

    def __init__(self, keys: dict[str, SigningKey]) -> None:
        self.keys: dict[str, VerifyKey] = {
            name: get_verify_key(key) for name, key in keys.items()
        }

    async def verify_json_for_server(
        self, server_name: str, json_object: JsonDict, valid_at_ms: int | None
    ) -> None:
        key = self.keys.get(server_name)
        if key is None or not verify_json(json_object, server_name, key):
            raise SignatureVerifyException(f"bad or missing signature of {server_name}")


class RemoteRoom:
    """A room on ``REMOTE``, created by ``@alice:remote.test``.

    Args:
        version: the room version.
        keys: signing keys by server name (the remote's is added).
    """

    def __init__(
        self,
        keys: dict[str, SigningKey],
        version: str = "10",
        creator: str = f"@alice:{REMOTE}",
        extra_state: list[tuple[str, str, JsonDict]] | None = None,
    ) -> None:
        self.version: RoomVersion = KNOWN_ROOM_VERSIONS[version]
        self.keys = {REMOTE: REMOTE_KEY, **keys}
        self.creator = creator
        self.events: dict[str, Event] = {}
        self.state_after: dict[str, dict[StateKey, str]] = {}
        self.extremities: list[str] = []
        self.ts = 1_700_000_000_000
        self.room_id = f"!room{len(self.keys)}:{REMOTE}"
        create_content: JsonDict = {"room_version": version}
        if not self.version.implicit_room_creator:
            create_content["creator"] = creator
        self.create = self.send(EventTypes.CREATE, creator, create_content, "")
        self.send(EventTypes.MEMBER, creator, {"membership": "join"}, creator)
        self.send(
            EventTypes.POWER_LEVELS,
            creator,
            {
                # v12: creators have infinite power and may not be listed.
                "users": {} if self.version.additional_creators else {creator: 100},
                "users_default": 0,
                "events_default": 0,
            },
            "",
        )
        self.send(EventTypes.JOIN_RULES, creator, {"join_rule": "public"}, "")
        self.send(
            EventTypes.HISTORY_VISIBILITY, creator, {"history_visibility": "shared"}, ""
        )
        for event_type, state_key, content in extra_state or []:
            self.send(event_type, creator, content, state_key)

    @property
    def state(self) -> dict[StateKey, str]:
        """The state after the (single) extremity."""
        return self.state_at(self.extremities)

    def state_at(self, prevs: list[str]) -> dict[StateKey, str]:
        """The state after ``prevs`` (the last one wins on conflicts: tests
        that fork pass the state they mean explicitly)."""
        state: dict[StateKey, str] = {}
        for prev in prevs:
            state.update(self.state_after[prev])
        return state

    def send(
        self,
        event_type: str,
        sender: str,
        content: JsonDict,
        state_key: str | None = None,
        *,
        prevs: list[str] | None = None,
        state_before: dict[StateKey, str] | None = None,
        extend: bool = True,
        redacts: str | None = None,
    ) -> Event:
        """Build and sign an event as the sender's server.

        Args:
            prevs: its prev events (default: the current extremities).
            state_before: the state to pick auth events from (default: the
                state after ``prevs``).
            extend: make it the new extremity (else it is built but the room
                does not move on).
        """
        prevs = list(self.extremities if prevs is None else prevs)
        before = self.state_at(prevs) if state_before is None else state_before
        server = domain_of(sender)
        auth = auth_state(self.version, event_type, state_key, sender, content, before)
        depth = max((self.events[p].depth for p in prevs), default=0) + 1
        self.ts += 1000
        event = build_event(
            self.version,
            room_id=None
            if self.version.room_id_is_create_hash and event_type == EventTypes.CREATE
            else self.room_id,
            type=event_type,
            sender=sender,
            content=content,
            prev_event_ids=prevs,
            auth_event_ids=sorted(auth.values()),
            depth=depth,
            origin_server_ts=self.ts,
            server_name=server,
            signing_key=self.keys[server],
            state_key=state_key,
            redacts=redacts,
        )
        self.events[event.event_id] = event
        if event.type == EventTypes.CREATE:
            self.room_id = event.room_id  # v12: derived from the create event
        after = dict(before)
        if event.is_state():
            after[event.state_tuple] = event.event_id
        self.state_after[event.event_id] = after
        if extend:
            self.extremities = [e for e in self.extremities if e not in prevs] + [
                event.event_id
            ]
        return event

    def pdu(self, event: Event) -> JsonDict:
        """The event as it travels over federation."""
        return dict(event.pdu)

    def auth_chain(self, event_ids: list[str]) -> list[Event]:
        """Every event in the auth chains of ``event_ids`` (not themselves)."""
        seen: dict[str, Event] = {}
        todo = [a for eid in event_ids for a in self.events[eid].auth_event_ids]
        while todo:
            eid = todo.pop()
            if eid in seen:
                continue
            seen[eid] = self.events[eid]
            todo.extend(self.events[eid].auth_event_ids)
        return sorted(seen.values(), key=lambda e: e.depth)


def pdus(events: list[Event]) -> list[JsonDict]:
    """The PDUs of ``events``."""
    return [dict(e.pdu) for e in events]


def tamper(pdu: JsonDict, **changes: Any) -> JsonDict:
    """A copy of ``pdu`` with top-level changes (hashes and signatures kept)."""
    out = dict(pdu)
    out.update(changes)
    return out
