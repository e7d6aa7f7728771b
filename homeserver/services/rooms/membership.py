"""Joining, leaving, inviting, kicking, banning, knocking and forgetting.

Spec: client-server API, "Room membership"; the auth rules decide who may.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from homeserver.config.model import RateLimitConfig
from homeserver.errors import Codes, Forbidden, MatrixError, NotFound
from homeserver.events.auth_rules import get_named_power_level, get_user_power_level
from homeserver.events.ids import has_domain, try_domain_of
from homeserver.events.model import Event, EventTypes, JoinRules, Membership, StateKey
from homeserver.events.template import STRIPPED_STATE_TYPES, stripped_state
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.profile import (
    NoUnknownUserQuery,
    UnknownUserQuery,
)
from homeserver.services.rooms.directory import DirectoryService
from homeserver.services.rooms.event_creation import EventCreationService
from homeserver.services.rooms.guest_access import guest_can_join
from homeserver.services.rooms.ports import (
    NoRemoteMembership,
    NoRoomBlocks,
    RemoteMembershipPort,
    RoomBlocks,
)
from homeserver.signals import RoomForgotten, Signal
from homeserver.storage.stores.profiles import ProfileStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict, UserID
from homeserver.util.ports import Port
from homeserver.util.ratelimit import Ratelimiter

EventCheck = Callable[[Event, Mapping[StateKey, Event]], Awaitable[None]]


class MembershipService:
    """Sends membership events on behalf of local users."""

    def __init__(
        self,
        *,
        server_name: str,
        creator: EventCreationService,
        room_state: RoomStateStore,
        profiles: ProfileStore,
        directory: DirectoryService,
        ratelimiter: Ratelimiter,
        rates: RateLimitConfig,
        forgotten: Signal[RoomForgotten] | None = None,
    ) -> None:
        self.server_name = server_name
        self.forgotten = forgotten
        self.creator = creator
        self.room_state = room_state
        self.profiles = profiles
        self.directory = directory
        self.ratelimiter = ratelimiter
        self.rates = rates
        # Joins, leaves and knocks of rooms no local user is in, and invites of
        # other servers' users (federation plugs itself in).
        # Asks the application service of an unknown invitee's namespace.
        self.unknown_users: Port[UnknownUserQuery] = Port(NoUnknownUserQuery())
        self.remote: Port[RemoteMembershipPort] = Port(
            NoRemoteMembership(self._leave_locally)
        )
        # Rooms a server admin blocked: local users may not join or be invited.
        self.blocks: Port[RoomBlocks] = Port(NoRoomBlocks())

    async def send_membership(
        self,
        room_id: str,
        sender: str,
        target: str,
        membership: str,
        reason: str | None,
        extra: JsonDict,
        check: EventCheck | None = None,
    ) -> Event:
        """Send an m.room.member event for ``target``; another server's user's
        invite is signed by that server first."""
        content = await self.member_content(target, membership, reason, extra)
        if membership == Membership.INVITE and check is None:
            check = self.federate_invite
        return await self.creator.send(
            room_id, sender, EventTypes.MEMBER, content, target, check=check
        )

    async def federate_invite(
        self, event: Event, auth_events: Mapping[StateKey, Event]
    ) -> None:
        """For an invite of another server's user: have that server sign it
        (``PUT /_matrix/federation/v2/invite``) before it is stored; a check
        for ``EventCreationService.send``."""
        target = event.state_key or ""
        if (
            event.type != EventTypes.MEMBER
            or event.membership != Membership.INVITE
            or try_domain_of(target) in (None, self.server_name)
        ):
            return
        state = await self.invite_room_state(event.room_id, event.sender)
        await self.remote.get().invite(event, state)

    async def member_content(
        self, target: str, membership: str, reason: str | None, extra: JsonDict
    ) -> JsonDict:
        """The content of ``target``'s member event: the membership, ``extra``,
        the reason, and a local user's profile on a join, invite or knock."""
        content: JsonDict = {"membership": membership, **extra}
        if reason:
            content["reason"] = reason
        if membership in (Membership.JOIN, Membership.INVITE, Membership.KNOCK):
            profile = await self._local_profile(target)
            for key in ("displayname", "avatar_url"):
                if profile.get(key) is not None:
                    content.setdefault(key, profile[key])
        return content

    async def _local_profile(self, user_id: str) -> JsonDict:
        if UserID.parse(user_id).domain != self.server_name:
            return {}
        return await self.profiles.get_profile(user_id) or {}

    async def resolve_room(self, room_id_or_alias: str) -> str:
        """A room ID from an ID or an alias."""
        return (await self._resolve_with_servers(room_id_or_alias))[0]

    async def _resolve_with_servers(
        self, room_id_or_alias: str
    ) -> tuple[str, list[str]]:
        """A room ID, and for an alias the servers the directory names."""
        if room_id_or_alias.startswith("#"):
            found = await self.directory.get_alias(room_id_or_alias)
            servers = found.get("servers")
            return str(found["room_id"]), [
                s for s in servers or [] if isinstance(s, str)
            ]
        if not room_id_or_alias.startswith("!"):
            raise MatrixError(400, "Expected a room ID or alias", Codes.INVALID_PARAM)
        return room_id_or_alias, []

    async def _require_room(self, room_id: str) -> None:
        if await self.room_state.get_room_version(room_id) is None:
            raise NotFound("Unknown room")

    async def is_host_in_room(self, room_id: str) -> bool:
        """Whether any local user is joined to the room."""
        return await self.room_state.has_joined_user_of(room_id, self.server_name)

    async def _remote_candidates(
        self, room_id: str, user_id: str, servers: Sequence[str]
    ) -> list[str]:
        """Servers to try for a handshake: the given ones, the senders of the
        user's invite and of the room's create event (from the stripped
        state), and the room ID's domain."""
        candidates: list[str | None] = list(servers)
        current = await self.room_state.get_membership(room_id, user_id)
        if current is not None:
            event = await self.creator.events.get_event(current[1])
            if event is not None:
                candidates.append(try_domain_of(event.sender))
                unsigned = event.pdu.get("unsigned")
                for key in ("invite_room_state", "knock_room_state"):
                    state = unsigned.get(key) if isinstance(unsigned, dict) else None
                    for entry in state if isinstance(state, list) else []:
                        sender = (
                            entry.get("sender") if isinstance(entry, dict) else None
                        )
                        candidates.append(try_domain_of(sender))
        candidates.append(try_domain_of(room_id))
        return [s for s in dict.fromkeys(candidates) if s and s != self.server_name]

    async def join(
        self,
        requester: Requester,
        room_id_or_alias: str,
        reason: str | None,
        servers: Sequence[str] = (),
        content: JsonDict | None = None,
    ) -> str:
        """Join a room by ID or alias; returns the room ID.

        Args:
            requester: who joins.
            room_id_or_alias: the room.
            reason: the join's reason, if any.
            servers: servers to join through (``via``/``server_name``) when no
                local user is in the room.
            content: more keys for the member event's content (the client's
                own; ``membership`` and the restricted-join key are the
                server's and are not among them).
        """
        extra: JsonDict = dict(content or {})
        room_id, alias_servers = await self._resolve_with_servers(room_id_or_alias)
        user_id = requester.user_id
        await self._check_not_blocked(requester, room_id)
        if requester.is_guest and not await guest_can_join(
            self.room_state, self.creator.events, room_id
        ):
            raise Forbidden("Guest access not allowed")
        if not await self.is_host_in_room(room_id):
            candidates = await self._remote_candidates(
                room_id, user_id, [*servers, *alias_servers]
            )
            if candidates:
                await self.ratelimiter.check_requester(
                    "joins_remote", requester, self.rates.joins_remote
                )
                await self._remote_handshake(
                    Membership.JOIN, user_id, room_id, candidates, reason, extra
                )
                return room_id
        if await self.room_state.get_room_version(room_id) is None:
            raise NotFound("No known servers for this room")
        current = await self.room_state.get_membership(room_id, user_id)
        if current and current[0] == Membership.JOIN:
            return room_id  # already joined: idempotent, as Synapse
        await self.ratelimiter.check_requester(
            "joins_local", requester, self.rates.joins_local
        )
        if current is None or current[0] != Membership.INVITE:
            extra.update(await self.restricted_join_authorisation(room_id, user_id))
        await self.send_membership(
            room_id, user_id, user_id, Membership.JOIN, reason, extra
        )
        return room_id

    async def is_blocked(self, room_id: str) -> bool:
        """Whether a server admin blocked the room."""
        return await self.blocks.get().is_blocked(room_id)

    async def _check_not_blocked(self, requester: Requester, room_id: str) -> None:
        """403 if an admin blocked the room (server admins may still go in)."""
        if not requester.is_admin and await self.blocks.get().is_blocked(room_id):
            raise Forbidden("This room has been blocked on this server")

    async def restricted_join_authorisation(
        self, room_id: str, user_id: str
    ) -> JsonDict:
        """For restricted rooms: name a local member who may invite, if the user
        belongs to one of the rooms the join rules allow (spec: "Restricted rooms")."""
        wanted = [
            (EventTypes.JOIN_RULES, ""),
            (EventTypes.POWER_LEVELS, ""),
            (EventTypes.CREATE, ""),
        ]
        state = await self.room_state.get_current_state_ids_of(room_id, wanted)
        found = await self.creator.events.get_events(
            [state[k] for k in wanted if k in state]
        )
        auth_events = {
            k: found[state[k]] for k in wanted if k in state and state[k] in found
        }
        join_rules = auth_events.get((EventTypes.JOIN_RULES, ""))
        create = auth_events.get((EventTypes.CREATE, ""))
        if join_rules is None or create is None:
            return {}
        rule = join_rules.content.get("join_rule")
        if rule not in (JoinRules.RESTRICTED, JoinRules.KNOCK_RESTRICTED):
            return {}
        if not create.room_version.restricted_join_rule:
            return {}
        allow = join_rules.content.get("allow")
        allowed_rooms = [
            a.get("room_id")
            for a in (allow if isinstance(allow, list) else [])
            if isinstance(a, dict) and a.get("type") == "m.room_membership"
        ]
        remote_user = not has_domain(user_id, self.server_name)
        allowed = [r for r in allowed_rooms if isinstance(r, str)]
        mine = set(await self.room_state.get_rooms_for_user(user_id))
        if not mine.intersection(allowed):
            if remote_user and not [
                r for r in allowed if await self.is_host_in_room(r)
            ]:
                # We cannot see any of those rooms: another server may.
                raise MatrixError(
                    400,
                    "This server is in none of the rooms that allow joining",
                    Codes.UNABLE_TO_AUTHORISE_JOIN,
                )
            raise Forbidden(
                "You do not belong to any of the required rooms to join this room."
            )
        invite_level = get_named_power_level("invite", auth_events)
        members = await self.room_state.get_members(room_id)
        for member, (membership, _) in sorted(members.items()):
            if membership != Membership.JOIN:
                continue
            if not has_domain(member, self.server_name):
                continue
            if get_user_power_level(member, auth_events) >= invite_level:
                return {"join_authorised_via_users_server": member}
        if remote_user:
            raise MatrixError(
                400,
                "No user of this server can authorise your join",
                Codes.UNABLE_TO_GRANT_JOIN,
            )
        raise Forbidden("No local user in the room can authorise your join.")

    async def _through_remote(
        self,
        membership: str,
        user_id: str,
        room_id: str,
        servers: Sequence[str],
        reason: str | None,
    ) -> bool:
        """Join or knock through another server when no user of ours is in
        the room and one of ``servers`` (or the room's) can help; whether it
        did."""
        if await self.is_host_in_room(room_id):
            return False
        candidates = await self._remote_candidates(room_id, user_id, servers)
        if not candidates:
            return False
        await self._remote_handshake(membership, user_id, room_id, candidates, reason)
        return True

    async def _remote_handshake(
        self,
        membership: str,
        user_id: str,
        room_id: str,
        candidates: list[str],
        reason: str | None,
        extra: JsonDict | None = None,
    ) -> None:
        """Join or knock through the first of ``candidates`` that can help."""
        content = await self.member_content(user_id, membership, reason, extra or {})
        del content["membership"]
        if membership == Membership.JOIN:
            await self.remote.get().join(user_id, room_id, candidates, content)
        else:
            await self.remote.get().knock(user_id, room_id, candidates, content)

    async def knock(
        self,
        requester: Requester,
        room_id_or_alias: str,
        reason: str | None,
        servers: Sequence[str] = (),
    ) -> str:
        """Ask to join a knockable room."""
        room_id, alias_servers = await self._resolve_with_servers(room_id_or_alias)
        user_id = requester.user_id
        if await self._through_remote(
            Membership.KNOCK, user_id, room_id, [*servers, *alias_servers], reason
        ):
            return room_id
        await self._require_room(room_id)
        await self.send_membership(
            room_id, user_id, user_id, Membership.KNOCK, reason, {}
        )
        return room_id

    async def leave(
        self, requester: Requester, room_id: str, reason: str | None
    ) -> None:
        """Leave a room (or reject an invite, or withdraw a knock)."""
        await self._require_room(room_id)
        user_id = requester.user_id
        current = await self.room_state.get_membership(room_id, user_id)
        if current is None or current[0] in (Membership.LEAVE, Membership.BAN):
            raise Forbidden("You are not in this room")
        if current[0] in (
            Membership.INVITE,
            Membership.KNOCK,
        ) and not await self.is_host_in_room(room_id):
            candidates = await self._remote_candidates(room_id, user_id, [])
            content = {"reason": reason} if reason else {}
            await self.remote.get().leave(
                user_id, room_id, candidates, content, current[1]
            )
            return
        await self.send_membership(
            room_id, user_id, user_id, Membership.LEAVE, reason, {}
        )

    async def _leave_locally(
        self, user_id: str, room_id: str, content: JsonDict
    ) -> Event:
        reason = content.get("reason")  # checked by leave()
        leave = Membership.LEAVE
        return await self.send_membership(room_id, user_id, user_id, leave, reason, {})

    async def change_other(
        self,
        requester: Requester,
        room_id: str,
        action: str,
        user_id: str,
        reason: str | None,
        is_direct: bool = False,
    ) -> None:
        """invite, kick, ban or unban ``user_id``.

        Args:
            requester: who does it.
            room_id: the room.
            action: ``invite``, ``kick``, ``ban`` or ``unban``.
            user_id: whom it is done to (400 M_INVALID_PARAM if no user ID).
            reason: the reason, if any.
            is_direct: mark an invite as one to a direct chat.
        """
        target = UserID.parse(user_id).to_string()
        await self._require_room(room_id)
        current = await self.room_state.get_membership(room_id, target)
        state = current[0] if current else None
        if action == "invite":
            await self._check_not_blocked(requester, room_id)
            if state in (Membership.JOIN, Membership.INVITE):
                raise Forbidden(f"{target} is already in the room")
            if requester.shadow_banned:
                return
            await self.ratelimit_invite(requester, room_id, target)
            if UserID.parse(target).domain == self.server_name:
                await self.unknown_users.get().query_user(target)
            membership, extra = Membership.INVITE, {}
            if is_direct:
                extra = {"is_direct": True}
        elif action == "kick":
            if state not in (Membership.JOIN, Membership.INVITE, Membership.KNOCK):
                raise Forbidden(f"{target} is not in the room")
            membership, extra = Membership.LEAVE, {}
        elif action == "ban":
            membership, extra = Membership.BAN, {}
        else:
            if state != Membership.BAN:
                raise Forbidden(f"{target} is not banned")
            membership, extra = Membership.LEAVE, {}
        await self.send_membership(
            room_id, requester.user_id, target, membership, reason, extra
        )

    async def ratelimit_invite(
        self, requester: Requester, room_id: str, target: str
    ) -> None:
        """``rate_limiting.invites_*``: per room, per invitee and per inviter.
        Every bucket is asked before any is counted, so a refused invite
        costs nothing."""
        if requester.ratelimit_exempt:
            return
        checks = (
            ("invites_per_room", room_id, self.rates.invites_per_room),
            ("invites_per_user", target, self.rates.invites_per_user),
            ("invites_per_issuer", requester.user_id, self.rates.invites_per_issuer),
        )
        for update in (False, True):
            for action, key, rate in checks:
                await self.ratelimiter.check(action, key, rate, update=update)

    async def invite_room_state(self, room_id: str, inviter: str) -> list[JsonDict]:
        """The stripped state sent with an invite: the room's key state events
        and the inviter's membership."""
        state = await self.room_state.get_current_state_ids(room_id)
        keys = [(t, "") for t in STRIPPED_STATE_TYPES]
        keys.append((EventTypes.MEMBER, inviter))
        wanted = [state[k] for k in keys if k in state]
        found = await self.creator.events.get_events(wanted)
        return stripped_state([found[e] for e in wanted if e in found])

    async def forget(self, requester: Requester, room_id: str) -> None:
        """Forget a room the user has left."""
        current = await self.room_state.get_membership(room_id, requester.user_id)
        if current is None:
            raise NotFound("You have never been in this room")
        if current[0] in (Membership.JOIN, Membership.INVITE, Membership.KNOCK):
            raise MatrixError(400, "You must leave the room first", Codes.UNKNOWN)
        await self.room_state.forget_room(room_id, requester.user_id)
        if self.forgotten is not None:
            self.forgotten.emit(RoomForgotten(requester.user_id, room_id))

    async def joined_rooms(self, requester: Requester) -> JsonDict:
        """GET /joined_rooms."""
        return {
            "joined_rooms": await self.room_state.get_rooms_for_user(requester.user_id)
        }
