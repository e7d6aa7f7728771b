"""The resident server's side of the membership handshakes.

Spec: server-server-api.md "Joining Rooms" (make_join, send_join v1/v2),
"Leaving Rooms (Rejecting Invites)" (make_leave, send_leave v1/v2) and
"Knocking upon a room" (make_knock, send_knock): another server asks us, a
server in the room, for a membership event template, signs it, and sends it
back for us to accept into the room and pass on to the other servers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from signedjson.sign import SignatureVerifyException

from homeserver.errors import (
    BadJson,
    Forbidden,
    IncompatibleRoomVersion,
    NotFound,
)
from homeserver.events.auth_membership import AUTHORISING_USER
from homeserver.events.auth_rules import AuthError, check_auth_rules, signature_present
from homeserver.events.hashing import check_content_hash
from homeserver.events.ids import domains_of, has_domain
from homeserver.events.model import Event, EventTypes, JoinRules, Membership, StateKey
from homeserver.events.room_versions import EventIdFormat, RoomVersion
from homeserver.events.signing import sign_event
from homeserver.events.template import (
    STRIPPED_STATE_TYPES,
    event_from_pdu,
    federation_pdu,
    stripped_state,
)
from homeserver.events.validation import EventFormatError
from homeserver.services.rooms.event_creation import (
    MAX_DEPTH,
    EventCreationService,
    auth_state,
)
from homeserver.services.rooms.membership import MembershipService
from homeserver.services.rooms.state_resolver import StateResolver
from homeserver.storage.stores.event_persistence import EventPersister
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

AclCheck = Callable[[str, str], Awaitable[None]]
"""``(origin, room_id)``: raises 403 when the room's server ACL bans ``origin``."""


class EventVerifier(Protocol):
    """Checks the signatures an inbound event must carry (the key ring)."""

    async def verify_event(self, event: Event) -> None:
        """Raises SignatureVerifyException unless every required server signed."""
        ...


class ResidentMembership:
    """Answers make_*/send_* for rooms this server is in."""

    def __init__(
        self,
        *,
        server_name: str,
        signing_key: Any,
        creator: EventCreationService,
        membership: MembershipService,
        resolver: StateResolver,
        persister: EventPersister,
        events: EventStore,
        room_state: RoomStateStore,
        verifier: EventVerifier,
        clock: Clock,
        acl_check: AclCheck | None = None,
        relay: Callable[[str, str], None] | None = None,
    ) -> None:
        self.server_name = server_name
        self.signing_key = signing_key
        self.creator = creator
        self.membership = membership
        self.resolver = resolver
        self.persister = persister
        self.events = events
        self.room_state = room_state
        self.verifier = verifier
        self.clock = clock
        self.acl_check = acl_check
        self.relay = relay

    # -- make_* ----------------------------------------------------------------
    async def make_membership(
        self,
        origin: str,
        room_id: str,
        user_id: str,
        membership: str,
        versions: Sequence[str] | None,
    ) -> JsonDict:
        """An unsigned membership event template for ``user_id``.

        Args:
            versions: the room versions the asking server supports (``ver``);
                None for make_leave, which has no such parameter.

        Raises:
            MatrixError: 403 if the user is not of ``origin`` or may not make
                the change; 404 for a room we are not in; 400
                M_INCOMPATIBLE_ROOM_VERSION if the asker does not support the
                room's version (or, for knocks, the version has no knocking).
        """
        if not has_domain(user_id, origin):
            raise Forbidden(f"{user_id} is not a user of {origin}")
        room_version = await self._room_we_are_in(room_id)
        await self._check_acl(origin, room_id)
        if versions is not None and room_version.identifier not in versions:
            raise IncompatibleRoomVersion(
                f"Your server does not support room version {room_version.identifier}",
                room_version.identifier,
            )
        if membership == Membership.KNOCK and not room_version.knock:
            raise IncompatibleRoomVersion(
                f"Room version {room_version.identifier} does not support knocking",
                room_version.identifier,
            )
        prevs = await self.creator.prev_events(room_id)
        context = await self.resolver.context_for_prev_events(room_version, prevs)
        state = context.state_before
        content: JsonDict = {"membership": membership}
        if membership == Membership.JOIN:
            content.update(await self._join_authorisation(room_id, user_id, state))
        template = await self._template(
            room_version, room_id, user_id, content, prevs, state
        )
        logger.info(
            "make_%s for %s in %s from %s", membership, user_id, room_id, origin
        )
        return {"room_version": room_version.identifier, "event": template}

    async def _join_authorisation(
        self, room_id: str, user_id: str, state: Mapping[StateKey, str]
    ) -> JsonDict:
        """``join_authorised_via_users_server`` for a restricted room, when the
        user is neither invited nor joined already."""
        current = state.get((EventTypes.MEMBER, user_id))
        if current is not None:
            found = await self.events.get_event(current)
            if found is not None and found.membership in (
                Membership.JOIN,
                Membership.INVITE,
            ):
                return {}
        rules_id = state.get((EventTypes.JOIN_RULES, ""))
        rules = await self.events.get_event(rules_id) if rules_id else None
        rule = rules.content.get("join_rule") if rules else None
        if rule not in (JoinRules.RESTRICTED, JoinRules.KNOCK_RESTRICTED):
            return {}
        return await self.membership.restricted_join_authorisation(room_id, user_id)

    async def _template(
        self,
        room_version: RoomVersion,
        room_id: str,
        user_id: str,
        content: JsonDict,
        prevs: list[str],
        state: Mapping[StateKey, str],
    ) -> JsonDict:
        auth_ids = auth_state(
            room_version, EventTypes.MEMBER, user_id, user_id, content, state
        )
        create_key = (EventTypes.CREATE, "")
        known = await self.events.get_events(
            [
                *prevs,
                *auth_ids.values(),
                *([state[create_key]] if create_key in state else []),
            ]
        )
        depth = max((known[p].depth for p in prevs if p in known), default=0) + 1

        def refs(ids: list[str]) -> list[Any]:
            if room_version.event_id_format is not EventIdFormat.V1:
                return list(ids)
            return [
                [i, dict(known[i].pdu.get("hashes", {}))] for i in ids if i in known
            ]

        template: JsonDict = {
            "room_id": room_id,
            "type": EventTypes.MEMBER,
            "sender": user_id,
            "state_key": user_id,
            "content": content,
            "origin": self.server_name,
            "origin_server_ts": self.clock.time_msec(),
            "depth": min(depth, MAX_DEPTH),
            "prev_events": refs(prevs),
            "auth_events": refs(sorted(auth_ids.values())),
        }
        auth_events = {k: known[e] for k, e in auth_ids.items() if e in known}
        if create_key in state and state[create_key] in known:
            auth_events[create_key] = known[state[create_key]]
        probe = Event(pdu=template, room_version=room_version, event_id="$template")
        try:
            check_auth_rules(probe, auth_events, verify_signature=lambda e, s: True)
        except AuthError as exc:
            raise Forbidden(str(exc)) from None
        return template

    # -- send_* ----------------------------------------------------------------
    async def send_membership(
        self, origin: str, room_id: str, event_id: str, pdu: Any, membership: str
    ) -> tuple[Event, dict[StateKey, str]]:
        """Check a signed membership event from ``origin`` and accept it.

        Returns:
            The accepted event (with our signature added for a restricted join
            we authorised) and the room state before it.

        Raises:
            MatrixError: 400 for a malformed or mismatched event, 403 if it is
                not ``origin``'s to send, its signatures are bad or the auth
                rules refuse it, 404 for a room we are not in.
        """
        room_version = await self._room_we_are_in(room_id)
        await self._check_acl(origin, room_id)
        event = self._parse(pdu, room_version, room_id, event_id, membership)
        if not has_domain(event.sender, origin):
            raise Forbidden(f"{event.sender} is not a user of {origin}")
        authoriser = event.content.get(AUTHORISING_USER)
        if (
            membership == Membership.JOIN
            and room_version.restricted_join_rule
            and isinstance(authoriser, str)
            and has_domain(authoriser, self.server_name)
        ):
            # We vouch for the join: our signature is what the auth rule wants.
            sign_event(event.pdu, room_version, self.server_name, self.signing_key)
        try:
            await self.verifier.verify_event(event)
        except SignatureVerifyException as exc:
            logger.warning(
                "send_%s from %s: bad signature: %s", membership, origin, exc
            )
            raise Forbidden(f"Bad event signature: {exc}") from None
        async with self.creator.linearizer.queue(room_id):
            await self.creator.batches.idle(room_id)  # our queued sends first
            existing = await self.events.get_event(event.event_id)
            if existing is not None:
                # A retry (or a race with one): answer as the first time.
                context = await self.resolver.context_for_prev_events(
                    room_version, existing.prev_event_ids
                )
                return existing, dict(context.state_before)
            state = await self._accept(event, room_version, origin)
        logger.info(
            "accepted %s of %s into %s from %s",
            membership,
            event.sender,
            room_id,
            origin,
        )
        self.creator.announce_remote_event(event)
        return event, state

    async def _accept(
        self, event: Event, room_version: RoomVersion, origin: str
    ) -> dict[StateKey, str]:
        """Check a new event ``origin`` sent against the room and persist it
        (under the room's lock); the state before it."""
        await self._require_known(event, "prev_events", event.prev_event_ids)
        await self._require_known(event, "auth_events", event.auth_event_ids)
        context = await self.resolver.context_for_prev_events(
            room_version, event.prev_event_ids
        )
        await self._check_auth(event, context.state_before)
        if self.relay is not None:
            # The other servers in the room learn of it from us (``origin``,
            # which has it, is not sent it back).
            self.relay(event.event_id, origin)
        await self.persister.persist_event(event, context)
        return dict(context.state_before)

    def _parse(
        self,
        pdu: Any,
        room_version: RoomVersion,
        room_id: str,
        event_id: str,
        membership: str,
    ) -> Event:
        try:
            event = event_from_pdu(pdu, room_version)
        except EventFormatError as exc:
            raise BadJson(f"Invalid event: {exc}") from None
        if event.event_id != event_id:
            raise BadJson("The event ID does not match the path")
        if event.room_id != room_id:
            raise BadJson("The event is for another room")
        if event.type != EventTypes.MEMBER or event.membership != membership:
            raise BadJson(
                f"Expected an m.room.member event with membership {membership}"
            )
        if event.state_key != event.sender:
            raise BadJson("state_key must be the sender")
        if not check_content_hash(event.pdu):
            raise BadJson("The event's content hash does not match")
        return event

    async def _require_known(self, event: Event, field: str, ids: list[str]) -> None:
        """Refuse an event referencing events we do not have in its room: the
        joining server built it on our template, so we must know them all."""
        found = await self.events.get_events(ids)
        unknown = sorted(
            eid
            for eid in ids
            if eid not in found or found[eid].room_id != event.room_id
        )
        if unknown:
            logger.warning("%s lists unknown %s: %s", event.event_id, field, unknown)
            raise BadJson(f"Unknown {field}: {', '.join(unknown)}")

    async def _check_auth(self, event: Event, state: Mapping[StateKey, str]) -> None:
        auth_ids = auth_state(
            event.room_version,
            event.type,
            event.state_key,
            event.sender,
            event.content,
            state,
        )
        create_key = (EventTypes.CREATE, "")
        if create_key in state:
            auth_ids[create_key] = state[create_key]
        found = await self.events.get_events(list(auth_ids.values()))
        auth_events = {k: found[e] for k, e in auth_ids.items() if e in found}
        try:
            check_auth_rules(event, auth_events, verify_signature=signature_present)
        except AuthError as exc:
            logger.warning("rejected %s: %s", event.event_id, exc)
            raise Forbidden(str(exc)) from None

    # -- answers -----------------------------------------------------------------
    async def join_answer(
        self, event: Event, state: Mapping[StateKey, str]
    ) -> JsonDict:
        """The send_join v2 body: the state before the join and its auth chain."""
        state_ids = sorted(set(state.values()))
        chains = await self.events.get_auth_chains([*state_ids, event.event_id])
        chain_ids = set().union(*chains.values()) if chains else set()
        found = await self.events.get_events(sorted(chain_ids | set(state_ids)))
        after = dict(state)
        after[event.state_tuple] = event.event_id
        hosts = domains_of(
            key[1]
            for key, eid in after.items()
            if key[0] == EventTypes.MEMBER
            and (
                eid == event.event_id
                or (eid in found and found[eid].membership == Membership.JOIN)
            )
        )
        return {
            "origin": self.server_name,
            "state": [federation_pdu(found[e]) for e in state_ids if e in found],
            "auth_chain": [
                federation_pdu(found[e]) for e in sorted(chain_ids) if e in found
            ],
            "event": federation_pdu(event),
            "members_omitted": False,
            "servers_in_room": sorted(hosts),
        }

    async def knock_answer(self, state: Mapping[StateKey, str]) -> JsonDict:
        """The send_knock body: the room's stripped state."""
        wanted = [state[(t, "")] for t in STRIPPED_STATE_TYPES if (t, "") in state]
        found = await self.events.get_events(wanted)
        return {
            "knock_room_state": stripped_state([found[e] for e in wanted if e in found])
        }

    # -- helpers -----------------------------------------------------------------
    async def _room_we_are_in(self, room_id: str) -> RoomVersion:
        room_version = await self.room_state.get_room_version(room_id)
        if room_version is None or not await self.is_host_in_room(room_id):
            raise NotFound(f"This server is not in room {room_id}")
        return room_version

    async def is_host_in_room(self, room_id: str) -> bool:
        """Whether one of our users is joined to the room."""
        return await self.room_state.has_joined_user_of(room_id, self.server_name)

    async def _check_acl(self, origin: str, room_id: str) -> None:
        if self.acl_check is not None:
            await self.acl_check(origin, room_id)
