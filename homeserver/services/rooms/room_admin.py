"""The room admin API's reads and small actions (Synapse's
``docs/admin_api/rooms.md``): list and search rooms, a room's details,
members and state, blocking, making a user room admin, and making a local
user join a room (``docs/admin_api/room_membership.md``)."""

from __future__ import annotations

import math
from typing import Any

import attrs

from homeserver.errors import Codes, InvalidParam, MatrixError, NotFound
from homeserver.events.model import EventTypes, JoinRules, Membership
from homeserver.events.power_levels import get_user_power_level
from homeserver.events.serialize import serialize_event
from homeserver.services.accounts.auth import Requester
from homeserver.services.rooms.event_creation import EventCreationService
from homeserver.services.rooms.membership import MembershipService
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_admin import RoomAdminStore, RoomSummary
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.users import UserStore
from homeserver.types import JsonDict, UserID
from homeserver.util.clock import Clock


def _text_key(value: Any) -> tuple[bool, str]:
    return (value is None, "" if value is None else str(value))


# order_by -> (sort key of a summary, largest first), as Synapse sorts.
_ORDERS: dict[str, tuple[Any, bool]] = {
    "name": (lambda s: _text_key(s.value(EventTypes.NAME)), False),
    "canonical_alias": (
        lambda s: _text_key(s.value(EventTypes.CANONICAL_ALIAS)),
        False,
    ),
    "joined_members": (lambda s: s.joined_members, True),
    "joined_local_members": (lambda s: s.joined_local_members, True),
    "version": (lambda s: s.version, True),
    "creator": (lambda s: _text_key(s.creator), False),
    "encryption": (lambda s: _text_key(s.value(EventTypes.ENCRYPTION)), False),
    "federatable": (lambda s: s.create_content.get("m.federate", True), True),
    "public": (lambda s: s.public, True),
    "join_rules": (lambda s: _text_key(s.value(EventTypes.JOIN_RULES)), False),
    "guest_access": (lambda s: _text_key(s.value(EventTypes.GUEST_ACCESS)), False),
    "history_visibility": (
        lambda s: _text_key(s.value(EventTypes.HISTORY_VISIBILITY)),
        False,
    ),
    "state_events": (lambda s: s.state_events, True),
}
# Synapse's deprecated names.
_ORDERS["alphabetical"] = _ORDERS["name"]
_ORDERS["size"] = _ORDERS["joined_members"]
ORDER_BY = frozenset(_ORDERS)


@attrs.frozen(kw_only=True)
class RoomQuery:
    """The filters, order and page of GET /_synapse/admin/v1/rooms."""

    start: int = 0
    limit: int = 100
    order_by: str = "name"
    backwards: bool = False
    search_term: str | None = None
    public_rooms: bool | None = None
    empty_rooms: bool | None = None


def summary_json(room: RoomSummary) -> JsonDict:
    """A room as the room list shows it."""
    return {
        "room_id": room.room_id,
        "name": room.value(EventTypes.NAME),
        "canonical_alias": room.value(EventTypes.CANONICAL_ALIAS),
        "joined_members": room.joined_members,
        "joined_local_members": room.joined_local_members,
        "version": room.version,
        "creator": room.creator,
        "encryption": room.value(EventTypes.ENCRYPTION),
        "federatable": bool(room.create_content.get("m.federate", True)),
        "public": room.public,
        "join_rules": room.value(EventTypes.JOIN_RULES),
        "guest_access": room.value(EventTypes.GUEST_ACCESS),
        "history_visibility": room.value(EventTypes.HISTORY_VISIBILITY),
        "state_events": room.state_events,
        "room_type": room.create_content.get("type"),
    }


def _matches(room: RoomSummary, term: str) -> bool:
    """Synapse's search: the name or the alias's localpart (any case), or
    the whole room ID (exact, as Synapse: a fragment of an ID is not a hit)."""
    name = room.value(EventTypes.NAME)
    alias = room.value(EventTypes.CANONICAL_ALIAS)
    if isinstance(name, str) and term.lower() in name.lower():
        return True
    if isinstance(alias, str) and term.lower() in alias.split(":")[0].lower():
        return True
    return term == room.room_id


def check_room_id(room_id: str) -> str:
    """``room_id`` if it is a room ID, else 400 (as Synapse)."""
    if not room_id.startswith("!") or len(room_id) > 255 or len(room_id) < 2:
        raise InvalidParam(f"{room_id} is not a legal room ID")
    return room_id


class RoomAdmin:
    """Reads rooms for server admins, blocks them and hands out room admin."""

    def __init__(
        self,
        *,
        server_name: str,
        store: RoomAdminStore,
        room_state: RoomStateStore,
        events: EventStore,
        creator: EventCreationService,
        membership: MembershipService,
        users: UserStore,
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.room_state = room_state
        self.events = events
        self.creator = creator
        self.membership = membership
        self.users = users
        self.clock = clock

    async def list_rooms(self, query: RoomQuery) -> JsonDict:
        """GET /_synapse/admin/v1/rooms."""
        rooms = await self.store.get_summaries()
        if query.search_term:
            rooms = [r for r in rooms if _matches(r, query.search_term)]
        if query.public_rooms is not None:
            rooms = [r for r in rooms if r.public == query.public_rooms]
        if query.empty_rooms is not None:
            rooms = [r for r in rooms if (r.joined_members == 0) == query.empty_rooms]
        key, largest_first = _ORDERS[query.order_by]
        rooms.sort(key=lambda r: r.room_id)
        rooms.sort(key=key, reverse=largest_first != query.backwards)
        page = rooms[query.start : query.start + query.limit]
        body: JsonDict = {
            "rooms": [summary_json(r) for r in page],
            "offset": query.start,
            "total_rooms": len(rooms),
        }
        if query.start + query.limit < len(rooms):
            body["next_batch"] = query.start + query.limit
        if query.start > 0:
            body["prev_batch"] = max(query.start - query.limit, 0)
        return body

    async def _summary(self, room_id: str) -> RoomSummary:
        room = await self.store.get_summary(check_room_id(room_id))
        if room is None:
            raise NotFound("Room not found")
        return room

    async def room_details(self, room_id: str) -> JsonDict:
        """GET /_synapse/admin/v1/rooms/{roomId}."""
        room = await self._summary(room_id)
        devices, forgotten = await self.store.get_local_details(room_id)
        return {
            **summary_json(room),
            "avatar": room.value(EventTypes.AVATAR),
            "topic": room.value(EventTypes.TOPIC),
            "joined_local_devices": devices,
            "forgotten": forgotten,
        }

    async def members(self, room_id: str) -> JsonDict:
        """GET /_synapse/admin/v1/rooms/{roomId}/members."""
        await self._summary(room_id)
        members = await self.store.get_joined_members(room_id)
        return {"members": members, "total": len(members)}

    async def state(self, room_id: str) -> JsonDict:
        """GET /_synapse/admin/v1/rooms/{roomId}/state."""
        await self._summary(room_id)
        ids = await self.room_state.get_current_state_ids(room_id)
        events = await self.events.get_events(list(ids.values()))
        now = self.clock.time_msec()
        return {
            "state": [
                serialize_event(events[e], now) for e in ids.values() if e in events
            ]
        }

    async def forward_extremities(self, room_id_or_alias: str) -> JsonDict:
        """GET /_synapse/admin/v1/rooms/{roomIdOrAlias}/forward_extremities."""
        room_id = await self.membership.resolve_room(room_id_or_alias)
        await self._summary(room_id)
        results = await self.store.get_forward_extremities(room_id)
        return {"count": len(results), "results": results}

    async def block_status(self, room_id: str) -> JsonDict:
        """GET /_synapse/admin/v1/rooms/{roomId}/block."""
        block = await self.store.get_block(check_room_id(room_id))
        if block is None:
            return {"block": False}
        return {"block": True, "user_id": block.user_id}

    async def set_block(
        self, requester: Requester, room_id: str, block: bool
    ) -> JsonDict:
        """PUT /_synapse/admin/v1/rooms/{roomId}/block: a room need not be
        known to be blocked."""
        check_room_id(room_id)
        if block:
            await self.store.set_block(
                room_id, requester.user_id, self.clock.time_msec()
            )
        else:
            await self.store.delete_block(room_id)
        return {"block": block}

    def _local_user(self, user_id: str) -> str:
        user = UserID.parse(user_id)
        if user.domain != self.server_name:
            raise InvalidParam("This endpoint can only be used with local users")
        return user.to_string()

    async def join_user(
        self, requester: Requester, room_id_or_alias: str, user_id: str
    ) -> JsonDict:
        """POST /_synapse/admin/v1/join/{roomIdOrAlias}: make a local user
        join a room, invited by the admin first unless the room is public."""
        target = self._local_user(user_id)
        if await self.users.get_user(target) is None:
            raise NotFound("User not found")
        room_id = await self.membership.resolve_room(room_id_or_alias)
        await self._summary(room_id)
        acting = Requester(UserID.parse(target), "", "")
        rules = await self.room_state.get_current_state_event_id(
            room_id, EventTypes.JOIN_RULES, ""
        )
        rules_event = await self.events.get_event(rules) if rules else None
        public = (
            rules_event is not None
            and rules_event.content.get("join_rule") == JoinRules.PUBLIC
        )
        current = await self.room_state.get_membership(room_id, target)
        if not public and (current is None or current[0] != Membership.INVITE):
            if current is None or current[0] != Membership.JOIN:
                await self.membership.change_other(
                    requester, room_id, "invite", target, None
                )
        await self.membership.join(acting, room_id, None)
        return {"room_id": room_id}

    async def make_room_admin(
        self, requester: Requester, room_id: str, user_id: str | None
    ) -> JsonDict:
        """POST /_synapse/admin/v1/rooms/{roomId}/make_room_admin: a local
        member with the highest power level raises ``user_id`` to its own
        level, joining (public room) or inviting the user first."""
        room_id = await self.membership.resolve_room(room_id)
        await self._summary(room_id)
        target = self._local_user(user_id or requester.user_id)
        state_ids = await self.room_state.get_current_state_ids(room_id)
        state = await self.events.get_events(list(state_ids.values()))
        auth = {key: state[e] for key, e in state_ids.items() if e in state}
        admin, level = self._highest_local_member(auth)
        if admin is None:
            raise MatrixError(400, "No local admin user in room", Codes.UNKNOWN)
        await self._bring_in(room_id, admin, target, auth)
        power = auth.get((EventTypes.POWER_LEVELS, ""))
        content = dict(power.content) if power else {}
        users = dict(content.get("users") or {})
        users[target] = level if math.isfinite(level) else 100
        content["users"] = users
        await self.creator.send(room_id, admin, EventTypes.POWER_LEVELS, content, "")
        return {}

    def _highest_local_member(self, auth: dict) -> tuple[str | None, float]:
        best: tuple[str | None, float] = (None, -math.inf)
        for (event_type, state_key), event in auth.items():
            if (
                event_type == EventTypes.MEMBER
                and event.membership == Membership.JOIN
                and UserID.parse(state_key).domain == self.server_name
            ):
                level = get_user_power_level(state_key, auth)
                if level > best[1]:
                    best = (state_key, level)
        return best

    async def _bring_in(
        self, room_id: str, admin: str, target: str, auth: dict
    ) -> None:
        member = auth.get((EventTypes.MEMBER, target))
        if member is not None and member.membership == Membership.JOIN:
            return
        rules = auth.get((EventTypes.JOIN_RULES, ""))
        if rules is not None and rules.content.get("join_rule") == JoinRules.PUBLIC:
            await self.membership.send_membership(
                room_id, target, target, Membership.JOIN, None, {}
            )
        elif member is None or member.membership != Membership.INVITE:
            await self.membership.send_membership(
                room_id, admin, target, Membership.INVITE, None, {}
            )
