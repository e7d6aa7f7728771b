"""The joining server's side of the membership handshakes.

Spec: server-server-api.md "Joining Rooms", "Leaving Rooms (Rejecting
Invites)", "Knocking upon a room", "Inviting to a room": a local user joins,
leaves or knocks on a room no local user is in by asking a resident server for
a template (make_*), signing it and sending it back (send_*); inviting a user
of another server sends the invite to that server for its signature first.
The requests themselves are in services/membership_requests.py; this module
decides what to do with their answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from signedjson.sign import SignatureVerifyException

from homeserver.errors import BadJson, Codes, Forbidden, MatrixError
from homeserver.events.auth_rules import AuthError
from homeserver.events.builder import build_event
from homeserver.events.canonical_json import (
    InvalidCanonicalJson,
    check_canonical_json_values,
)
from homeserver.events.ids import try_domain_of
from homeserver.events.model import Event, EventTypes, Membership
from homeserver.events.redaction import redact_pdu
from homeserver.events.room_versions import RoomVersion
from homeserver.events.template import (
    check_join_against_state,
    event_from_pdu,
    event_from_template,
    federation_pdu,
)
from homeserver.events.validation import EventFormatError
from homeserver.federation.handshakes.invites import OutOfRoomMemberships
from homeserver.federation.handshakes.requests import MembershipRequests
from homeserver.federation.interfaces import FederationTransport
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

ProcessRemoteJoin = Callable[
    [str, RoomVersion, Event, list[JsonDict], list[JsonDict]], Awaitable[Any]
]
"""``(origin, room_version, join_event, state, auth_chain)``: verify the
send_join answer, persist the state and auth chain as outliers, then the join
with that state as the room's current state (the receiving side's pipeline)."""


class SignatureChecker(Protocol):
    """The key ring's JSON signature check."""

    async def verify_json_for_server(
        self, server_name: str, json_object: JsonDict, valid_at_ms: int | None
    ) -> None:
        """Raises SignatureVerifyException unless ``server_name`` signed it."""
        ...


def _precheck_join(
    join: Event, state: list[JsonDict], version: RoomVersion, server: str
) -> None:
    """Refuse a send_join answer whose state cannot authorise our join, before
    anything of it is stored (so a failed join leaves nothing behind).

    Raises:
        MatrixError: 502.
    """
    try:
        check_join_against_state(join, state, version)
    except AuthError as exc:
        logger.warning("the state %s sent refuses our join: %s", server, exc)
        raise MatrixError(
            502, f"The room state does not allow the join: {exc}", Codes.UNKNOWN
        ) from None


def _pdu_list(value: Any) -> list[JsonDict]:
    if not isinstance(value, list) or not all(isinstance(p, dict) for p in value):
        raise EventFormatError("expected a list of PDUs")
    return value


class RemoteMembership:
    """Membership changes that need another server's cooperation."""

    def __init__(
        self,
        *,
        server_name: str,
        signing_key: Any,
        transport: FederationTransport,
        signatures: SignatureChecker,
        out_of_room: OutOfRoomMemberships,
        process_remote_join: ProcessRemoteJoin,
        clock: Clock,
        already_at: Callable[[str, str], None] | None = None,
    ) -> None:
        self.server_name = server_name
        self.signing_key = signing_key
        self.requests = MembershipRequests(server_name, transport)
        self.signatures = signatures
        self.out_of_room = out_of_room
        self.process_remote_join = process_remote_join
        self.clock = clock
        # Tells the federation sender which server already has an event.
        self.already_at = already_at

    # -- join ------------------------------------------------------------------
    async def join(
        self, user_id: str, room_id: str, servers: Sequence[str], content: JsonDict
    ) -> Event:
        """Join a room through the first of ``servers`` that lets us.

        Raises:
            MatrixError: the resident server's 400/403/404 answer passed on
                (M_INCOMPATIBLE_ROOM_VERSION, M_FORBIDDEN, ...); 502 when no
                server could be reached or the join could not be completed.
        """
        server, version, template = await self.requests.make(
            "join", servers, room_id, user_id, Membership.JOIN
        )
        event = self._sign(version, template, content)
        answer = await self.requests.send(server, "join", room_id, event)
        if not isinstance(answer, dict):
            raise MatrixError(502, "Bad send_join answer", Codes.UNKNOWN)
        try:
            state = _pdu_list(answer.get("state"))
            auth_chain = _pdu_list(answer.get("auth_chain"))
            join_event = self._returned_event(answer.get("event"), event, version)
        except EventFormatError as exc:
            logger.warning("send_join answer from %s is malformed: %s", server, exc)
            raise MatrixError(
                502, f"Bad send_join answer: {exc}", Codes.UNKNOWN
            ) from None
        _precheck_join(join_event, state, version, server)
        if self.already_at is not None:
            # The resident server has our join from send_join: it is not sent
            # there again (it passes it on itself, as Synapse's resident does).
            self.already_at(join_event.event_id, server)
        try:
            await self.process_remote_join(
                server, version, join_event, state, auth_chain
            )
        except MatrixError:
            raise
        except Exception as exc:
            logger.warning(
                "remote join of %s to %s via %s failed: %s",
                user_id,
                room_id,
                server,
                exc,
            )
            raise MatrixError(
                502, f"Could not complete the join: {exc}", Codes.UNKNOWN
            ) from None
        logger.info("%s joined %s via %s", user_id, room_id, server)
        return join_event

    def _returned_event(self, pdu: Any, ours: Event, version: RoomVersion) -> Event:
        """Our join, with the resident server's signature when it added one."""
        if not isinstance(pdu, dict):
            return ours
        returned = event_from_pdu(pdu, version)
        if returned.event_id != ours.event_id:
            raise EventFormatError("the returned event is not our join")
        return returned

    # -- leave, knock ----------------------------------------------------------
    async def leave(
        self,
        user_id: str,
        room_id: str,
        servers: Sequence[str],
        content: JsonDict,
        current_event_id: str | None = None,
    ) -> Event:
        """Leave (reject an invite to, withdraw a knock on) a room we are not in.

        Args:
            current_event_id: the user's invite or knock; when no server takes
                the leave, it is rejected here only (as Synapse does), so an
                invite from a server that is gone can still be dismissed.
        """
        try:
            server, version, template = await self.requests.make(
                "leave", servers, room_id, user_id, Membership.LEAVE
            )
            event = self._sign(version, template, content)
            await self.requests.send(server, "leave", room_id, event)
        except MatrixError as exc:
            current = (
                await self.out_of_room.events.get_event(current_event_id)
                if current_event_id
                else None
            )
            if current is None:
                raise
            logger.info(
                "no server took %s's leave of %s (%s): rejecting locally",
                user_id,
                room_id,
                exc.msg,
            )
            event = self._local_leave(current, content)
            server = self.server_name
        await self.out_of_room.store(event)
        logger.info("%s left %s via %s", user_id, room_id, server)
        return event

    def _local_leave(self, current: Event, content: JsonDict) -> Event:
        """A leave that follows the invite or knock it answers; stored here
        only, never sent."""
        try:
            return build_event(
                current.room_version,
                room_id=current.room_id,
                type=EventTypes.MEMBER,
                sender=current.state_key or "",
                content={**content, "membership": Membership.LEAVE},
                prev_event_ids=[current.event_id],
                auth_event_ids=[current.event_id],
                depth=current.depth + 1,
                origin_server_ts=self.clock.time_msec(),
                server_name=self.server_name,
                signing_key=self.signing_key,
                state_key=current.state_key,
                prev_event_hashes=lambda _: dict(current.pdu.get("hashes", {})),
            )
        except EventFormatError as exc:
            raise MatrixError(500, f"Cannot reject locally: {exc}") from None

    async def knock(
        self, user_id: str, room_id: str, servers: Sequence[str], content: JsonDict
    ) -> Event:
        """Knock on a room we are not in."""
        server, version, template = await self.requests.make(
            "knock", servers, room_id, user_id, Membership.KNOCK
        )
        event = self._sign(version, template, content)
        answer = await self.requests.send(server, "knock", room_id, event)
        state = answer.get("knock_room_state") if isinstance(answer, dict) else None
        await self.out_of_room.store(
            event,
            {
                "knock_room_state": [e for e in state if isinstance(e, dict)]
                if isinstance(state, list)
                else []
            },
        )
        logger.info("%s knocked on %s via %s", user_id, room_id, server)
        return event

    def _sign(
        self, version: RoomVersion, template: JsonDict, content: JsonDict
    ) -> Event:
        try:
            return event_from_template(
                version,
                template,
                server_name=self.server_name,
                signing_key=self.signing_key,
                origin_server_ts=self.clock.time_msec(),
                extra_content=content,
            )
        except EventFormatError as exc:
            raise MatrixError(
                502, f"Bad event template: {exc}", Codes.UNKNOWN
            ) from None

    # -- invite ----------------------------------------------------------------
    async def invite(self, event: Event, invite_room_state: list[JsonDict]) -> None:
        """Have the invitee's server sign our invite; its signature is added to
        ``event`` (which keeps its ID).

        Raises:
            MatrixError: the invitee's server's 4xx passed on, or 502; 400
                M_BAD_JSON for an answer that is no valid JSON of the room
                version (checked before its signature).
        """
        invitee = event.state_key or ""
        destination = try_domain_of(invitee)
        if destination is None:  # callers only invite users of another server
            raise MatrixError(400, "The invitee has no server", Codes.INVALID_PARAM)
        answer = await self.requests.invite(destination, event, invite_room_state)
        returned = answer.get("event") if isinstance(answer, dict) else None
        signatures = returned.get("signatures") if isinstance(returned, dict) else None
        theirs = signatures.get(destination) if isinstance(signatures, dict) else None
        if not isinstance(theirs, dict) or not isinstance(returned, dict):
            raise MatrixError(502, "The invite came back unsigned", Codes.UNKNOWN)
        if event.room_version.strict_canonical_json:
            # A float or an out-of-range integer: no event of this version,
            # whatever its signatures say (sytest "Outbound federation rejects
            # invite response which include invalid JSON for room version").
            try:
                check_canonical_json_values(returned)
            except InvalidCanonicalJson as exc:
                raise BadJson(
                    f"The invitee's server answered with invalid JSON: {exc}"
                ) from None
        merged = federation_pdu(event)
        merged["signatures"] = {**merged.get("signatures", {}), destination: theirs}
        try:
            # Their signature must hold over our event, not whatever came back.
            await self.signatures.verify_json_for_server(
                destination,
                redact_pdu(merged, event.room_version),
                event.origin_server_ts
                if event.room_version.enforce_key_validity
                else None,
            )
        except SignatureVerifyException as exc:
            raise Forbidden(f"The invitee's server signed badly: {exc}") from None
        event.pdu.setdefault("signatures", {})[destination] = dict(theirs)
        logger.info("%s's server signed the invite to %s", invitee, event.room_id)
