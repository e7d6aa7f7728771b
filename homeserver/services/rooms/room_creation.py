"""POST /createRoom: presets, initial state, aliases, invites.

Spec: client-server API, "Creation" (POST /_matrix/client/v3/createRoom).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import attrs

from homeserver.config.model import RateLimitConfig
from homeserver.errors import BadJson, Codes, MatrixError
from homeserver.events.content_validation import InvalidContent, validate_content
from homeserver.events.model import Event, EventTypes, JoinRules, Membership, StateKey
from homeserver.events.room_versions import RoomVersion, get_room_version
from homeserver.services.accounts.auth import Requester
from homeserver.services.rooms.directory import DirectoryService
from homeserver.services.rooms.event_creation import EventCreationService
from homeserver.services.rooms.membership import MembershipService
from homeserver.services.rooms.ports import NoRoomPolicy, RoomPolicy
from homeserver.types import JsonDict, UserID
from homeserver.util.ports import Port
from homeserver.util.ratelimit import Ratelimiter
from homeserver.util.tokens import random_string

logger = logging.getLogger(__name__)

PRESETS: dict[str, dict[str, Any]] = {
    "private_chat": {
        "join_rule": JoinRules.INVITE,
        "history": "shared",
        "guest": "can_join",
        "invitees_admin": False,
    },
    "trusted_private_chat": {
        "join_rule": JoinRules.INVITE,
        "history": "shared",
        "guest": "can_join",
        "invitees_admin": True,
    },
    "public_chat": {
        "join_rule": JoinRules.PUBLIC,
        "history": "shared",
        # No m.room.guest_access event at all, as Synapse does: without
        # one, guests are forbidden anyway (spec: m.room.guest_access).
        "guest": None,
        "invitees_admin": False,
    },
}


def _invitees_as_creators(
    creation_content: JsonDict, invite: Sequence[str], creator: str
) -> JsonDict:
    """``creation_content`` with the invitees added to ``additional_creators``
    (once each; not the creator). A malformed ``additional_creators`` is left
    for validation to refuse."""
    given = creation_content.get("additional_creators", [])
    if not isinstance(given, list):
        return creation_content
    merged = list(given)
    for user_id in invite:
        if user_id != creator and user_id not in merged:
            merged.append(user_id)
    return {**creation_content, "additional_creators": merged}


def default_power_levels(creator: str, list_creator: bool) -> JsonDict:
    """Synapse's default power levels for a new room."""
    return {
        "users": {creator: 100} if list_creator else {},
        "users_default": 0,
        "events": {
            EventTypes.NAME: 50,
            EventTypes.POWER_LEVELS: 100,
            EventTypes.HISTORY_VISIBILITY: 100,
            EventTypes.CANONICAL_ALIAS: 50,
            EventTypes.AVATAR: 50,
            EventTypes.TOMBSTONE: 100,
            EventTypes.SERVER_ACL: 100,
            EventTypes.ENCRYPTION: 100,
        },
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 50,
    }


class InitialState(Protocol):
    """One ``initial_state`` event of a createRoom request."""

    @property
    def type(self) -> str: ...
    @property
    def state_key(self) -> str: ...
    @property
    def content(self) -> JsonDict: ...


class RoomCreationRequest(Protocol):
    """A POST /createRoom body: ``CreateRoomBody`` of
    ``api/client/bodies/rooms.py``, which has checked every type, and that
    ``visibility`` and ``preset`` are values the spec allows."""

    @property
    def room_version(self) -> str | None: ...
    @property
    def visibility(self) -> str: ...
    @property
    def preset(self) -> str | None: ...
    @property
    def invite(self) -> Sequence[str]: ...
    @property
    def creation_content(self) -> JsonDict: ...
    @property
    def power_level_content_override(self) -> JsonDict: ...
    @property
    def initial_state(self) -> Sequence[InitialState]: ...
    @property
    def name(self) -> str | None: ...
    @property
    def topic(self) -> str | None: ...
    @property
    def room_alias_name(self) -> str | None: ...
    @property
    def is_direct(self) -> bool: ...


@attrs.frozen(kw_only=True)
class RoomPlan:
    """What a createRoom request will create, all of it checked up front."""

    version: RoomVersion
    creation_content: JsonDict
    power_levels: JsonDict
    alias: str | None
    state: list[tuple[str, str, JsonDict]]
    invites: Sequence[str]
    is_direct: bool
    public: bool


def _requested_state(
    preset: dict[str, Any], body: RoomCreationRequest
) -> list[tuple[str, str, JsonDict]]:
    """The state events after the power levels: the preset's (unless
    ``initial_state`` has them), ``initial_state``, the name and the topic."""
    given = {(e.type, e.state_key) for e in body.initial_state}
    state = [
        (event_type, "", content)
        for event_type, content in (
            (EventTypes.JOIN_RULES, {"join_rule": preset["join_rule"]}),
            (EventTypes.HISTORY_VISIBILITY, {"history_visibility": preset["history"]}),
            (EventTypes.GUEST_ACCESS, {"guest_access": preset["guest"]}),
        )
        if (event_type, "") not in given
        and not (event_type == EventTypes.GUEST_ACCESS and preset["guest"] is None)
    ]
    state.extend((e.type, e.state_key, e.content) for e in body.initial_state)
    if body.name is not None:
        state.append((EventTypes.NAME, "", {"name": body.name}))
    if body.topic is not None:
        text = [{"body": body.topic, "mimetype": "text/plain"}]
        state.append(
            (EventTypes.TOPIC, "", {"topic": body.topic, "m.topic": {"m.text": text}})
        )
    return state


class RoomCreationService:
    """Creates rooms."""

    def __init__(
        self,
        *,
        server_name: str,
        default_room_version: str,
        creator: EventCreationService,
        membership: MembershipService,
        directory: DirectoryService,
        ratelimiter: Ratelimiter,
        rates: RateLimitConfig,
    ) -> None:
        self.server_name = server_name
        self.default_room_version = default_room_version
        self.creator = creator
        self.membership = membership
        self.directory = directory
        self.ratelimiter = ratelimiter
        self.rates = rates
        # Plugins' chatly_check_room_creation, plugged in by the bind step.
        self.policy: Port[RoomPolicy] = Port(NoRoomPolicy())

    async def create_room(
        self, requester: Requester, body: RoomCreationRequest
    ) -> JsonDict:
        """Create a room as ``body`` describes; returns ``{"room_id": ...}``.

        Every event of the new room is built and checked in memory before
        anything is written (``_rehearse``), so a request that would fail at
        any event (its content, its size, the auth rules) creates nothing.
        """
        plan = await self._plan(requester, body)
        await self.policy.get().check_room_creation(requester.user_id, body)
        await self.ratelimiter.check_requester(
            "room_creation", requester, self.rates.room_creation
        )
        user_id = requester.user_id
        create = await self._rehearse(plan, user_id)
        room_id = create.room_id
        if plan.alias:
            # Claimed before the first event, so an alias taken since the
            # plan was checked also leaves nothing behind.
            await self.directory.create_alias(plan.alias, room_id, user_id)
        await self.creator.persist_create_event(create)
        await self.membership.send_membership(
            room_id, user_id, user_id, Membership.JOIN, None, {}
        )
        send = self._sender(room_id, user_id)
        await send(EventTypes.POWER_LEVELS, "", plan.power_levels)
        if plan.alias:
            await send(EventTypes.CANONICAL_ALIAS, "", {"alias": plan.alias})
        for event_type, state_key, content in plan.state:
            await send(event_type, state_key, content)
        if plan.public:
            await self.directory.set_visibility_unchecked(room_id, True)
        # A shadow-banned creator's invitees are never told (as Synapse).
        for invitee in () if requester.shadow_banned else plan.invites:
            await self._invite(room_id, user_id, invitee, plan.is_direct)
        return {"room_id": room_id}

    async def _invite(
        self, room_id: str, user_id: str, invitee: str, is_direct: bool
    ) -> None:
        """Invite one of ``invite``. Another server's user's invite needs that
        server to sign it, which may fail: the room exists by then, so the
        failure is logged and the room is still answered (the creator can
        invite again)."""
        try:
            await self.membership.send_membership(
                room_id,
                user_id,
                invitee,
                Membership.INVITE,
                None,
                {"is_direct": True} if is_direct else {},
            )
        except MatrixError as exc:
            if UserID.parse(invitee).domain == self.server_name:
                raise
            logger.warning(
                "createRoom %s: the invite of %s failed: %s", room_id, invitee, exc
            )

    async def _rehearse(self, plan: RoomPlan, user_id: str) -> Event:
        """Build and check every event the new room starts with, in memory and
        in order, as sending each would; returns the create event to persist.

        Raises:
            MatrixError: the first event that would be refused, with the error
                sending it would have answered.
        """
        version = plan.version
        create = self.creator.rehearse(
            version,
            self.new_room_id(version),
            user_id,
            EventTypes.CREATE,
            self._create_content(version, user_id, plan.creation_content),
            "",
            None,
            {},
        )
        room_id = create.room_id
        steps: list[tuple[str, str, JsonDict]] = [
            (
                EventTypes.MEMBER,
                user_id,
                await self.membership.member_content(
                    user_id, Membership.JOIN, None, {}
                ),
            ),
            (EventTypes.POWER_LEVELS, "", plan.power_levels),
        ]
        if plan.alias:
            steps.append((EventTypes.CANONICAL_ALIAS, "", {"alias": plan.alias}))
        steps.extend(plan.state)
        for invitee in plan.invites:
            extra = {"is_direct": True} if plan.is_direct else {}
            content = await self.membership.member_content(
                invitee, Membership.INVITE, None, extra
            )
            steps.append((EventTypes.MEMBER, invitee, content))
        state: dict[StateKey, Event] = {(EventTypes.CREATE, ""): create}
        prev = create
        for event_type, state_key, content in steps:
            prev = self.creator.rehearse(
                version, room_id, user_id, event_type, content, state_key, prev, state
            )
            state[(event_type, state_key)] = prev
        return create

    async def create_room_with_state(
        self,
        user_id: str,
        version: RoomVersion,
        creation_content: JsonDict,
        power_levels: JsonDict,
        state: list[tuple[str, str, JsonDict]],
        room_id: str | None = None,
    ) -> str:
        """Create a room with exactly the given state, no presets (room upgrades).

        The creator joins, then the power levels and ``state`` are sent in order.
        Returns the new room's ID: ``room_id`` if given (one ``new_room_id``
        made), else a new one.
        """
        room_id = await self._create_and_join(
            version, user_id, creation_content, room_id
        )
        send = self._sender(room_id, user_id)
        await send(EventTypes.POWER_LEVELS, "", power_levels)
        for event_type, state_key, content in state:
            await send(event_type, state_key, content)
        return room_id

    async def _create_and_join(
        self,
        version: RoomVersion,
        user_id: str,
        creation_content: JsonDict,
        room_id: str | None = None,
    ) -> str:
        """Send the create event and the creator's join; returns the room ID."""
        create = await self.creator.create_room_event(
            version,
            room_id or self.new_room_id(version),
            user_id,
            self._create_content(version, user_id, creation_content),
        )
        room_id = create.room_id
        await self.membership.send_membership(
            room_id, user_id, user_id, Membership.JOIN, None, {}
        )
        return room_id

    def new_room_id(self, version: RoomVersion) -> str | None:
        """A fresh room ID, or None where the create event's hash is the ID."""
        if version.room_id_is_create_hash:
            return None
        return f"!{random_string(18)}:{self.server_name}"

    @staticmethod
    def _create_content(
        version: RoomVersion, user_id: str, creation_content: JsonDict
    ) -> JsonDict:
        create_content = dict(creation_content)
        create_content["room_version"] = version.identifier
        if not version.implicit_room_creator:
            create_content["creator"] = user_id
        return create_content

    def _sender(self, room_id: str, user_id: str) -> Any:
        async def send(event_type: str, state_key: str, content: JsonDict) -> None:
            await self.creator.send(room_id, user_id, event_type, content, state_key)

        return send

    def _room_version(self, version_id: str | None) -> RoomVersion:
        """The version asked for (else the default); 400
        M_UNSUPPORTED_ROOM_VERSION if we do not know it."""
        if version_id is None:
            version_id = self.default_room_version
        version = get_room_version(version_id)
        if version is None:
            raise MatrixError(
                400,
                f"Unsupported room version {version_id!r}",
                Codes.UNSUPPORTED_ROOM_VERSION,
            )
        return version

    async def _plan(self, requester: Requester, body: RoomCreationRequest) -> RoomPlan:
        """Check everything up front, so a bad request creates nothing."""
        version = self._room_version(body.room_version)
        default_preset = (
            "public_chat" if body.visibility == "public" else "private_chat"
        )
        preset = PRESETS[body.preset or default_preset]
        for invitee in body.invite:
            UserID.parse(invitee)
        alias = None
        if body.room_alias_name:
            alias = f"#{body.room_alias_name}:{self.server_name}"
            await self.directory.check_alias_available(alias, requester)
        power_levels = default_power_levels(
            requester.user_id, not version.additional_creators
        )
        creation_content = body.creation_content
        if preset["invitees_admin"] and version.additional_creators:
            # Spec (createRoom, v1.16): trusted_private_chat makes the
            # invitees creators; a creator may not be listed in power levels.
            creation_content = _invitees_as_creators(
                creation_content, body.invite, requester.user_id
            )
        elif preset["invitees_admin"]:
            power_levels["users"].update(dict.fromkeys(body.invite, 100))
        power_levels.update(copy.deepcopy(body.power_level_content_override))
        state = _requested_state(preset, body)
        for event_type, state_key, content in [
            (EventTypes.POWER_LEVELS, "", power_levels),
            *state,
        ]:
            try:
                validate_content(version, event_type, state_key, content)
            except InvalidContent as exc:
                raise BadJson(f"{event_type}: {exc}") from None
        return RoomPlan(
            version=version,
            creation_content=creation_content,
            power_levels=power_levels,
            alias=alias,
            state=state,
            invites=body.invite,
            is_direct=body.is_direct,
            public=body.visibility == "public",
        )
