"""Invites by third-party ID (an email address) and their exchange for a
membership.

Spec: client-server API "Invite by third-party ID" (``/invite`` with
``id_server``, ``id_access_token``, ``medium``, ``address``);
server-server API "Third-party invites" (``/3pid/onbind`` from the identity
server, ``exchange_third_party_invite`` between homeservers); the auth rules
check the signed ``m.room.member`` that follows. Behaviour as Synapse's
``do_3pid_invite`` and ``exchange_third_party_invite``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from homeserver.errors import Forbidden, MatrixError, NotFound
from homeserver.events.auth_membership import third_party_signing_key
from homeserver.events.ids import try_domain_of
from homeserver.events.model import Event, EventTypes, Membership, StateKey
from homeserver.services.accounts.auth import Requester
from homeserver.services.rooms.event_creation import EventCreationService
from homeserver.services.rooms.identity_client import IdentityServerClient
from homeserver.services.rooms.membership import MembershipService
from homeserver.services.rooms.room_permissions import RoomPermissions
from homeserver.types import JsonDict
from homeserver.util.ports import Port

logger = logging.getLogger(__name__)

# The state the identity server may use in its message to the invitee.
_ROOM_KEYS: list[StateKey] = [
    (EventTypes.CANONICAL_ALIAS, ""),
    (EventTypes.NAME, ""),
    (EventTypes.CREATE, ""),
    (EventTypes.JOIN_RULES, ""),
    (EventTypes.AVATAR, ""),
]


class RemoteThirdPartyInvitePort(Protocol):
    """Handing a bound third-party invite to the inviter's server."""

    async def exchange(
        self, destinations: list[str], room_id: str, event: JsonDict
    ) -> None:
        """``PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId}``
        to the first of ``destinations`` that accepts it.

        Raises:
            MatrixError: none accepted it.
        """
        ...


class NoRemoteThirdPartyInvites:
    """With federation off, another server's invite cannot be exchanged."""

    async def exchange(
        self, destinations: list[str], room_id: str, event: JsonDict
    ) -> None:
        raise Forbidden("Federation is disabled on this server")


class ThirdPartyInviteService:
    """Invites by email through an identity server, and the memberships
    their bindings turn into."""

    def __init__(
        self,
        *,
        server_name: str,
        creator: EventCreationService,
        membership: MembershipService,
        permissions: RoomPermissions,
        identity: IdentityServerClient,
        lookup_enabled: bool,
    ) -> None:
        self.server_name = server_name
        self.creator = creator
        self.membership = membership
        self.permissions = permissions
        self.identity = identity
        self.lookup_enabled = lookup_enabled
        self.remote: Port[RemoteThirdPartyInvitePort] = Port(
            NoRemoteThirdPartyInvites()
        )

    async def invite(
        self,
        requester: Requester,
        room_id: str,
        id_server: str,
        id_access_token: str,
        medium: str,
        address: str,
    ) -> None:
        """``/invite`` by third-party ID: a normal invite when the address is
        bound to a user on the identity server, else an
        ``m.room.third_party_invite`` with the invite the identity server
        stored.

        Raises:
            MatrixError: 403 with lookups disabled or without the right to
                invite, 404 for an unknown room, 502 when the identity server
                cannot store the invite (nothing is sent then).
        """
        if not self.lookup_enabled:
            raise Forbidden(
                "Looking up third-party identifiers is denied from this server"
            )
        self.identity.base_url(id_server)  # 400 before anything is asked
        if not await self.permissions.room_exists(room_id):
            raise NotFound("Unknown room")
        inviter = requester.user_id
        if not await self.permissions.is_joined(room_id, inviter):
            raise Forbidden(f"{inviter} is not in the room")
        if requester.shadow_banned:
            return  # looks sent, goes nowhere (as Synapse)
        mxid = await self._lookup(id_server, id_access_token, medium, address)
        if mxid is not None:
            await self.membership.change_other(requester, room_id, "invite", mxid, None)
            return
        if not await self.permissions.may_send_state(
            room_id, inviter, EventTypes.THIRD_PARTY_INVITE
        ):
            raise Forbidden("You don't have permission to invite users")
        await self.membership.ratelimit_invite(
            requester, room_id, f"{medium}:{address}"
        )
        body = await self._store_invite_body(room_id, inviter, medium, address)
        stored = await self.identity.store_invite(id_server, id_access_token, body)
        first = stored.public_keys[0]
        content = {
            "display_name": stored.display_name,
            "public_keys": stored.public_keys,
            # For servers that read only the single key (as Synapse sends it).
            "public_key": first["public_key"],
            "key_validity_url": first["key_validity_url"],
        }
        await self.creator.send(
            room_id, inviter, EventTypes.THIRD_PARTY_INVITE, content, stored.token
        )

    async def _lookup(
        self, id_server: str, access_token: str, medium: str, address: str
    ) -> str | None:
        """The bound user ID, or None; a failed lookup counts as unbound (as
        Synapse): the store-invite that follows reports the problem."""
        try:
            return await self.identity.lookup(id_server, access_token, medium, address)
        except MatrixError as e:
            logger.info("3pid lookup failed", extra={"error": e.msg})
            return None

    async def _store_invite_body(
        self, room_id: str, inviter: str, medium: str, address: str
    ) -> JsonDict:
        member_key = (EventTypes.MEMBER, inviter)
        state = await self.permissions.state_events(room_id, [*_ROOM_KEYS, member_key])

        def field(key: StateKey, name: str) -> str:
            event = state.get(key)
            value = event.content.get(name) if event is not None else None
            return value if isinstance(value, str) else ""

        body: JsonDict = {
            "medium": medium,
            "address": address,
            "room_id": room_id,
            "sender": inviter,
            "room_alias": field((EventTypes.CANONICAL_ALIAS, ""), "alias"),
            "room_avatar_url": field((EventTypes.AVATAR, ""), "url"),
            "room_join_rules": field((EventTypes.JOIN_RULES, ""), "join_rule"),
            "room_name": field((EventTypes.NAME, ""), "name"),
            "sender_display_name": field(member_key, "displayname") or inviter,
            "sender_avatar_url": field(member_key, "avatar_url"),
        }
        room_type = field((EventTypes.CREATE, ""), "type")
        if room_type:
            body["room_type"] = room_type
        return body

    async def join_with_signed(
        self,
        requester: Requester,
        room_id_or_alias: str,
        signed: JsonDict,
    ) -> None:
        """A join's ``third_party_signed``: the third-party invite it proves
        becomes the user's invite (then the join proceeds as usual).

        Raises:
            MatrixError: 403 when ``mxid`` is not the user or the invite
                cannot be exchanged (as ``exchange``).
        """
        if signed.get("mxid") != requester.user_id:
            raise Forbidden("third_party_signed.mxid is not you")
        room_id = await self.membership.resolve_room(room_id_or_alias)
        # The whole block is what the identity server signed (sender too).
        await self.exchange(
            str(signed["sender"]), requester.user_id, room_id, signed, inbound=False
        )

    async def on_bind(self, notification: JsonDict) -> None:
        """``/3pid/onbind``: each pending invite of the newly bound address
        becomes an invite of the user (here, or through the inviter's
        server). Every invite is tried; the last failure is raised."""
        invites = notification.get("invites")
        if not isinstance(invites, list):
            raise MatrixError(400, "invites must be a list", "M_BAD_JSON")
        failure: MatrixError | None = None
        for invite in invites:
            try:
                await self.exchange(*_bound_invite(invite), inbound=False)
            except MatrixError as e:
                logger.info("onbind invite not exchanged", extra={"error": e.msg})
                failure = e
        if failure is not None:
            raise failure

    async def exchange(
        self, sender: str, target: str, room_id: str, signed: JsonDict, *, inbound: bool
    ) -> None:
        """Turn a signed third-party invite into ``target``'s invite.

        Args:
            sender: who sent the ``m.room.third_party_invite``.
            target: the user the address is now bound to.
            signed: the identity server's signed block (mxid, token).
            inbound: another server asked (exchange_third_party_invite): the
                sender must then be ours.

        Raises:
            MatrixError: 403 when the invite is unknown, its signature or key
                is not valid, or the auth rules refuse the member event.
        """
        if try_domain_of(sender) != self.server_name:
            if inbound:
                raise Forbidden("The inviter is not a user of this server")
            destinations = [d for d in (try_domain_of(sender),) if d]
            room_domain = try_domain_of(room_id)
            if room_domain and room_domain not in destinations:
                destinations.append(room_domain)
            event = {
                "type": EventTypes.MEMBER,
                "room_id": room_id,
                "sender": sender,
                "state_key": target,
                "content": {
                    "membership": Membership.INVITE,
                    "third_party_invite": {"signed": signed},
                },
            }
            await self.remote.get().exchange(destinations, room_id, event)
            return
        await self._issue(sender, target, room_id, signed)

    async def _issue(
        self, sender: str, target: str, room_id: str, signed: JsonDict
    ) -> None:
        if signed.get("mxid") != target:
            raise Forbidden("third_party_invite.signed.mxid is not the invitee")
        token = signed.get("token")
        key = (EventTypes.THIRD_PARTY_INVITE, token if isinstance(token, str) else "")
        invite = (await self.permissions.state_events(room_id, [key])).get(key)
        if invite is None:
            raise Forbidden("Could not find invite")
        current = await self.membership.room_state.get_membership(room_id, target)
        if current is not None and current[0] in (Membership.JOIN, Membership.INVITE):
            return  # an identity server retrying onbind: already done
        display_name = invite.content.get("display_name")
        third_party = {"display_name": display_name, "signed": signed}

        async def check(event: Event, auth_events: Mapping[StateKey, Event]) -> None:
            await self._check_key_valid(signed, auth_events.get(key) or invite)
            await self.membership.federate_invite(event, auth_events)

        await self.membership.send_membership(
            room_id,
            sender,
            target,
            Membership.INVITE,
            None,
            {"third_party_invite": third_party},
            check=check,
        )

    async def _check_key_valid(self, signed: JsonDict, invite: Event) -> None:
        """The key that signed is still valid at its ``key_validity_url``
        (identity service "Key management"), as Synapse checks."""
        public_key = third_party_signing_key(signed, invite)
        if public_key is None:
            raise Forbidden("third_party_invite.signed has no valid signature")
        url = _validity_url(invite.content, public_key)
        if url is None:
            return
        if not await self.identity.key_is_valid(url, public_key):
            raise Forbidden("Third party certificate was invalid")


def _validity_url(content: JsonDict, public_key: str) -> str | None:
    listed = content.get("public_keys")
    for entry in listed if isinstance(listed, list) else []:
        if isinstance(entry, dict) and entry.get("public_key") == public_key:
            url = entry.get("key_validity_url")
            return url if isinstance(url, str) else None
    if content.get("public_key") == public_key:
        url = content.get("key_validity_url")
        return url if isinstance(url, str) else None
    return None


def _bound_invite(invite: object) -> tuple[str, str, str, JsonDict]:
    """(sender, mxid, room_id, signed) of one onbind invite.

    Raises:
        MatrixError: 400 when a field is missing or of the wrong type.
    """
    if not isinstance(invite, dict):
        raise MatrixError(400, "Each invite must be an object", "M_BAD_JSON")
    fields = [invite.get(name) for name in ("sender", "mxid", "room_id")]
    signed = invite.get("signed")
    if not all(isinstance(f, str) for f in fields) or not isinstance(signed, dict):
        raise MatrixError(
            400, "An invite lacks sender, mxid, room_id or signed", "M_BAD_JSON"
        )
    if not isinstance(signed.get("token"), str):
        raise MatrixError(400, "An invite's signed block has no token", "M_BAD_JSON")
    sender, mxid, room_id = fields
    return str(sender), str(mxid), str(room_id), signed
