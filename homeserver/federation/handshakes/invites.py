"""Invites from other servers, and membership events of rooms we are not in.

Spec: server-server-api.md "Inviting to a room" (PUT /_matrix/federation/v2/
invite/{roomId}/{eventId}): the inviting server sends us the invite for one of
our users; we check it, add our signature and answer with it. When none of our
users is in the room the invite is stored as an outlier, with the stripped
state the inviter sent, so that the invitee sees it in /sync.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from signedjson.sign import SignatureVerifyException

from homeserver.errors import (
    BadJson,
    Forbidden,
    IncompatibleRoomVersion,
    NotFound,
)
from homeserver.events.hashing import check_content_hash
from homeserver.events.ids import has_domain
from homeserver.events.model import Event, EventTypes, Membership
from homeserver.events.room_versions import get_room_version
from homeserver.events.signing import sign_event
from homeserver.events.template import event_from_pdu, federation_pdu
from homeserver.events.validation import EventFormatError
from homeserver.federation.handshakes.resident import AclCheck, EventVerifier
from homeserver.signals import MembershipChanged, Signal
from homeserver.storage.stores.event_persistence import EventContext, EventPersister
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.remote_rooms import RemoteRoomStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.users import UserStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)


class OutOfRoomMemberships:
    """Stores a local user's membership event of a room we have no state for
    (a remote invite, our knock, our rejection of an invite), and announces
    it on ``membership_changed``."""

    def __init__(
        self,
        *,
        server_name: str,
        persister: EventPersister,
        events: EventStore,
        remote_rooms: RemoteRoomStore,
        membership_changed: Signal[MembershipChanged],
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.persister = persister
        self.events = events
        self.remote_rooms = remote_rooms
        self.membership_changed = membership_changed
        self.clock = clock

    async def store(self, event: Event, unsigned: JsonDict | None = None) -> None:
        """Persist ``event`` as an outlier and make it the user's membership.

        Args:
            unsigned: local data kept with the event (``invite_room_state``).
        """
        user_id = event.state_key or event.sender
        await self.remote_rooms.ensure_room(
            event.room_id, event.room_version, self.clock.time_msec()
        )
        if await self.events.get_event(event.event_id) is None:
            pdu = federation_pdu(event)
            if unsigned:
                pdu["unsigned"] = unsigned
            stored = Event(
                pdu=pdu,
                room_version=event.room_version,
                event_id=event.event_id,
                outlier=True,
            )
            await self.persister.persist_event(
                stored, EventContext(state_before={}, update_current_state=False)
            )
        membership = event.membership or ""
        await self.remote_rooms.set_out_of_room_membership(
            event.room_id, user_id, event.event_id, membership
        )
        self.membership_changed.emit(
            MembershipChanged(
                room_id=event.room_id,
                user_id=user_id,
                membership=membership,
                event=event,
            )
        )

    async def on_pdu(self, origin: str, event: Event) -> bool:
        """Take a leave or ban of a local user from a room we are not in (a
        rescinded invite, a refused knock, an unban), arriving in a transaction:
        without a local member we have no current state to check it against.

        Returns:
            Whether the event was handled here (else the room pipeline
            handles it).
        """
        user_id = event.state_key
        if (
            event.type != EventTypes.MEMBER
            or event.membership not in (Membership.LEAVE, Membership.BAN)
            or not user_id
            or not has_domain(user_id, self.server_name)
        ):
            return False
        hosts = await self.remote_rooms.get_joined_hosts(event.room_id)
        if self.server_name in hosts:
            return False
        logger.info(
            "%s of %s from %s in %s, a room we are not in",
            event.membership,
            user_id,
            origin,
            event.room_id,
        )
        await self.store(event)
        return True


class InviteReceiver:
    """Handles inbound /v2/invite."""

    def __init__(
        self,
        *,
        server_name: str,
        signing_key: Any,
        users: UserStore,
        room_state: RoomStateStore,
        remote_rooms: RemoteRoomStore,
        out_of_room: OutOfRoomMemberships,
        verifier: EventVerifier,
        acl_check: AclCheck | None = None,
        room_blocked: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self.server_name = server_name
        self.signing_key = signing_key
        self.users = users
        # Rooms a server admin blocked take no invites (as Synapse's
        # on_invite_request): the inviting server gets 403.
        self.room_blocked = room_blocked
        self.room_state = room_state
        self.remote_rooms = remote_rooms
        self.out_of_room = out_of_room
        self.verifier = verifier
        self.acl_check = acl_check

    async def known_room_version(self, room_id: str) -> str | None:
        """The version of a room we know, if we do (for v1 invites, which
        do not say)."""
        version = await self.room_state.get_room_version(room_id)
        return version.identifier if version else None

    async def on_invite(
        self,
        origin: str,
        room_id: str,
        event_id: str,
        room_version_id: str,
        pdu: JsonDict,
        invite_room_state: list[JsonDict] | None,
    ) -> JsonDict:
        """Check, counter-sign and store an invite for one of our users.

        Args:
            origin: the inviting server.
            room_id: the room.
            event_id: the invite's event ID (from the path).
            room_version_id: the room's version.
            pdu: the invite event.
            invite_room_state: stripped state of the room; None to take it
                from the event's ``unsigned`` section (v1 invites).

        Raises:
            MatrixError: 400 M_INCOMPATIBLE_ROOM_VERSION for a room version we
                do not know; 400 for a malformed or mismatched event; 403 if it
                is not ``origin``'s to send or badly signed, or if the room
                is blocked here; 404 if the invitee is not one of our users.
        """
        room_version = get_room_version(room_version_id)
        if room_version is None:
            raise IncompatibleRoomVersion(
                f"Unsupported room version {room_version_id!r}", room_version_id
            )
        try:
            event = event_from_pdu(pdu, room_version)
        except EventFormatError as exc:
            raise BadJson(f"Invalid event: {exc}") from None
        await self._check(origin, room_id, event_id, event)
        if self.room_blocked is not None and await self.room_blocked(room_id):
            raise Forbidden("This room has been blocked on this server")
        if self.acl_check is not None:
            await self.acl_check(origin, room_id)
        try:
            await self.verifier.verify_event(event)
        except SignatureVerifyException as exc:
            logger.warning("invite from %s: bad signature: %s", origin, exc)
            raise Forbidden(f"Bad event signature: {exc}") from None
        sign_event(event.pdu, room_version, self.server_name, self.signing_key)
        state: Any = invite_room_state
        if state is None:
            unsigned = pdu.get("unsigned")
            state = (
                unsigned.get("invite_room_state") if isinstance(unsigned, dict) else []
            )
        if self.server_name in await self.remote_rooms.get_joined_hosts(room_id):
            # We are in the room: the invite reaches us in a transaction too,
            # and becomes part of our copy of the DAG then.
            logger.info("invite %s into %s, a room we are in", event_id, room_id)
        else:
            stripped = (
                [e for e in state if isinstance(e, dict)]
                if isinstance(state, list)
                else []
            )
            await self.out_of_room.store(event, {"invite_room_state": stripped})
            logger.info(
                "stored invite of %s to %s from %s", event.state_key, room_id, origin
            )
        return {"event": federation_pdu(event)}

    async def _check(
        self, origin: str, room_id: str, event_id: str, event: Event
    ) -> None:
        if event.event_id != event_id:
            raise BadJson("The event ID does not match the path")
        if event.room_id != room_id:
            raise BadJson("The event is for another room")
        if event.type != EventTypes.MEMBER or event.membership != Membership.INVITE:
            raise BadJson("Expected an m.room.member invite")
        if not check_content_hash(event.pdu):
            raise BadJson("The event's content hash does not match")
        if "third_party_invite" not in event.content and not has_domain(
            event.sender, origin
        ):
            raise Forbidden(f"{event.sender} is not a user of {origin}")
        invitee = event.state_key or ""
        if not has_domain(invitee, self.server_name):
            raise Forbidden(f"{invitee} is not a user of this server")
        if await self.users.get_user(invitee) is None:
            raise NotFound(f"Unknown user {invitee}")
