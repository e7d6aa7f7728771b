"""POST /createRoom: presets, initial state, aliases, invites.

Spec: client-server API, "Creation" (POST /_matrix/client/v3/createRoom).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Protocol

import attrs

from homeserver.errors import BadJson, Codes, MatrixError
from homeserver.events.content_validation import InvalidContent, validate_content
from homeserver.events.model import EventTypes, JoinRules, Membership
from homeserver.events.room_versions import RoomVersion, get_room_version
from homeserver.services.accounts.auth import Requester
from homeserver.services.rooms.directory import DirectoryService
from homeserver.services.rooms.event_creation import EventCreationService
from homeserver.services.rooms.membership import MembershipService
from homeserver.types import JsonDict, UserID
from homeserver.util.tokens import random_string

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
        "guest": "forbidden",
        "invitees_admin": False,
    },
}


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


@attrs.frozen
class RoomPlan:
    """What a createRoom request will create, all of it checked up front."""

    version: RoomVersion
    power_levels: JsonDict
    alias: str | None
    state: list[tuple[str, str, JsonDict]]


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
        server_name: str,
        default_room_version: str,
        creator: EventCreationService,
        membership: MembershipService,
        directory: DirectoryService,
    ) -> None:
        self.server_name = server_name
        self.default_room_version = default_room_version
        self.creator = creator
        self.membership = membership
        self.directory = directory

    async def create_room(
        self, requester: Requester, body: RoomCreationRequest
    ) -> JsonDict:
        """Create a room as ``body`` describes; returns ``{"room_id": ...}``."""
        plan = await self._plan(requester, body)
        user_id = requester.user_id
        room_id = await self._create_and_join(
            plan.version, user_id, body.creation_content
        )
        send = self._sender(room_id, user_id)
        await send(EventTypes.POWER_LEVELS, "", plan.power_levels)
        if plan.alias:
            await self.directory.create_alias(plan.alias, room_id, user_id)
            await send(EventTypes.CANONICAL_ALIAS, "", {"alias": plan.alias})
        for event_type, state_key, content in plan.state:
            await send(event_type, state_key, content)
        if body.visibility == "public":
            await self.directory.set_visibility_unchecked(room_id, True)
        for invitee in body.invite:
            await self.membership.send_membership(
                room_id,
                user_id,
                invitee,
                Membership.INVITE,
                None,
                {"is_direct": True} if body.is_direct else {},
            )
        return {"room_id": room_id}

    async def create_room_with_state(
        self,
        user_id: str,
        version: RoomVersion,
        creation_content: JsonDict,
        power_levels: JsonDict,
        state: list[tuple[str, str, JsonDict]],
    ) -> str:
        """Create a room with exactly the given state, no presets (room upgrades).

        The creator joins, then the power levels and ``state`` are sent in order.
        Returns the new room's ID.
        """
        room_id = await self._create_and_join(version, user_id, creation_content)
        send = self._sender(room_id, user_id)
        await send(EventTypes.POWER_LEVELS, "", power_levels)
        for event_type, state_key, content in state:
            await send(event_type, state_key, content)
        return room_id

    async def _create_and_join(
        self, version: RoomVersion, user_id: str, creation_content: JsonDict
    ) -> str:
        """Send the create event and the creator's join; returns the room ID."""
        room_id = (
            None
            if version.room_id_is_create_hash
            else (f"!{random_string(18)}:{self.server_name}")
        )
        create_content = dict(creation_content)
        create_content["room_version"] = version.identifier
        if not version.implicit_room_creator:
            create_content["creator"] = user_id
        create = await self.creator.create_room_event(
            version, room_id, user_id, create_content
        )
        room_id = create.room_id
        await self.membership.send_membership(
            room_id, user_id, user_id, Membership.JOIN, None, {}
        )
        return room_id

    def _sender(self, room_id: str, user_id: str) -> Any:
        async def send(event_type: str, state_key: str, content: JsonDict) -> None:
            await self.creator.send(room_id, user_id, event_type, content, state_key)

        return send

    async def _plan(self, requester: Requester, body: RoomCreationRequest) -> RoomPlan:
        """Check everything up front, so a bad request creates nothing."""
        version_id = body.room_version
        if version_id is None:
            version_id = self.default_room_version
        version = get_room_version(version_id)
        if version is None:
            raise MatrixError(
                400,
                f"Unsupported room version {version_id!r}",
                Codes.UNSUPPORTED_ROOM_VERSION,
            )
        default_preset = (
            "public_chat" if body.visibility == "public" else "private_chat"
        )
        preset = PRESETS[body.preset or default_preset]
        for invitee in body.invite:
            UserID.parse(invitee)
        alias = None
        if body.room_alias_name:
            alias = f"#{body.room_alias_name}:{self.server_name}"
            await self.directory.check_alias_available(alias)
        power_levels = default_power_levels(
            requester.user_id, not version.additional_creators
        )
        if preset["invitees_admin"]:
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
        return RoomPlan(version, power_levels, alias, state)
