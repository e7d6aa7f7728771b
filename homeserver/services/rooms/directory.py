"""Room aliases, canonical alias validation, and directory visibility.

Spec: client-server API, "Room aliases" (``/directory/room/{roomAlias}``,
``/rooms/{roomId}/aliases``), "Published room directory"
(``/directory/list/room/{roomId}``), and ``PUT /rooms/{roomId}/state`` on
validating ``m.room.canonical_alias``. Permissions follow Synapse: see each method.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from homeserver.errors import BadJson, Codes, Forbidden, MatrixError, NotFound
from homeserver.events.ids import domains_of
from homeserver.events.model import Event, EventTypes, Membership, StateKey
from homeserver.services.accounts.appservice_auth import (
    AppServices,
    NoAppServices,
    check_alias_namespace,
)
from homeserver.services.accounts.auth import Requester
from homeserver.services.rooms.event_creation import EventCreationService
from homeserver.services.rooms.ports import NoRemoteAliases, RemoteAliasPort
from homeserver.services.rooms.room_permissions import RoomPermissions
from homeserver.storage.stores.directory import DirectoryStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict, RoomAlias
from homeserver.util.clock import Clock
from homeserver.util.ports import Port

logger = logging.getLogger(__name__)

CANONICAL_ALIAS_KEY: StateKey = (EventTypes.CANONICAL_ALIAS, "")


class UnknownAliasQuery(Protocol):
    """Who may create a local alias on demand (an application service)."""

    async def query_alias(self, alias: str) -> bool:
        """Whether it was asked for and created ``alias``."""


class NoUnknownAliasQuery:
    """No application services bound: nobody creates aliases on demand."""

    async def query_alias(self, alias: str) -> bool:
        return False


class DirectoryService:
    """Creates, resolves and removes aliases; publishes rooms.

    Args:
        server_name: this server's name; only its aliases are hosted here.
        store: aliases and the published flag.
        room_state: rooms, memberships and current state.
        permissions: membership and power checks.
        creator: sends the updated canonical alias event when an alias goes.
        clock: for alias creation times.
        require_membership_for_aliases: only joined users (and admins) may
            point an alias at a room, as Synapse's option of that name.
    """

    def __init__(
        self,
        *,
        server_name: str,
        store: DirectoryStore,
        room_state: RoomStateStore,
        permissions: RoomPermissions,
        creator: EventCreationService,
        clock: Clock,
        require_membership_for_aliases: bool = True,
        appservices: AppServices | None = None,
    ) -> None:
        self.server_name = server_name
        # Application services' alias namespaces (exclusive ones are theirs).
        self.appservices = appservices or NoAppServices()
        self.store = store
        self.room_state = room_state
        self.permissions = permissions
        self.creator = creator
        self.clock = clock
        # Asks an alias's server (federation plugs itself in).
        self.remote: Port[RemoteAliasPort] = Port(NoRemoteAliases())
        # Asks the application service of an unknown alias's namespace.
        self.unknown_aliases: Port[UnknownAliasQuery] = Port(NoUnknownAliasQuery())
        self.require_membership_for_aliases = require_membership_for_aliases

    # -- Aliases -----------------------------------------------------------

    def validate_alias(self, alias: str) -> RoomAlias:
        """400 M_INVALID_PARAM unless ``alias`` is a well-formed alias we may host.

        Beyond the grammar, Synapse's rules for new aliases: no whitespace in
        the localpart, and only this server's domain.
        """
        parsed = RoomAlias.parse(alias)
        if any(ch.isspace() for ch in parsed.localpart):
            raise MatrixError(
                400, "Room alias may not contain whitespace", Codes.INVALID_PARAM
            )
        if parsed.domain != self.server_name:
            raise MatrixError(
                400, "Room alias must be on this server", Codes.INVALID_PARAM
            )
        return parsed

    async def check_alias_available(
        self, alias: str, requester: Requester | None = None
    ) -> None:
        """For createRoom: 400 M_INVALID_PARAM / M_ROOM_IN_USE, and
        M_EXCLUSIVE in an application service's namespace."""
        self.validate_alias(alias)
        if requester is not None:
            check_alias_namespace(self.appservices, requester.app_service_id, alias)
        if await self.store.get_alias_mapping(alias) is not None:
            raise MatrixError(400, "Room alias already taken", Codes.ROOM_IN_USE)

    async def create_alias(self, alias: str, room_id: str, creator: str) -> None:
        """Point ``alias`` at ``room_id`` without permission checks; 409 if it exists."""
        self.validate_alias(alias)
        if not await self.store.insert_alias(
            alias, room_id, creator, self.clock.time_msec()
        ):
            raise MatrixError(409, f"Room alias {alias} already exists", Codes.UNKNOWN)

    async def set_alias(self, requester: Requester, alias: str, room_id: str) -> None:
        """PUT /directory/room/{roomAlias}: point ``alias`` at ``room_id``.

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a malformed or foreign alias,
                404 for an unknown room, 403 if the user is not joined (unless
                an admin, or membership is not required), 409 if it exists; 400
                M_EXCLUSIVE in an application service's namespace.
        """
        self.validate_alias(alias)
        if not room_id.startswith("!"):
            raise BadJson("room_id must be a room ID")
        check_alias_namespace(self.appservices, requester.app_service_id, alias)
        if not await self.permissions.room_exists(room_id):
            raise NotFound("Unknown room")
        if (
            self.require_membership_for_aliases
            and not requester.is_admin
            # An application service manages the aliases of its namespace.
            and requester.app_service_id is None
            and not await self.permissions.is_joined(room_id, requester.user_id)
        ):
            raise Forbidden("You must be in the room to create an alias for it")
        await self.create_alias(alias, room_id, requester.user_id)
        logger.info("alias created", extra={"alias": alias, "room_id": room_id})

    async def resolve_alias(self, alias: str) -> str:
        """The room an alias points at.

        Raises:
            MatrixError: 400 for a malformed alias; 404 M_NOT_FOUND if a local
                alias does not exist; 502 for another server's alias, which
                would need federation (Synapse also answers 502 when it cannot
                reach the alias's server).
        """
        parsed = RoomAlias.parse(alias)
        if parsed.domain != self.server_name:
            return str((await self._remote_alias(alias))["room_id"])
        mapping = await self.store.get_alias_mapping(alias)
        if mapping is None and await self.unknown_aliases.get().query_alias(alias):
            mapping = await self.store.get_alias_mapping(alias)
        if mapping is None:
            raise NotFound(f"Room alias {alias} not found")
        return mapping.room_id

    async def get_alias(self, alias: str) -> JsonDict:
        """GET /directory/room/{roomAlias}: ``{room_id, servers}``.

        ``servers`` are the servers of the room's joined members, this one first
        (and always present, since this server hosts the alias).
        """
        if RoomAlias.parse(alias).domain != self.server_name:
            return await self._remote_alias(alias)
        room_id = await self.resolve_alias(alias)
        members = await self.room_state.get_members(room_id)
        servers = domains_of(
            user_id
            for user_id, (membership, _) in members.items()
            if membership == Membership.JOIN
        )
        servers.discard(self.server_name)
        return {"room_id": room_id, "servers": [self.server_name, *sorted(servers)]}

    async def _remote_alias(self, alias: str) -> JsonDict:
        return await self.remote.get().directory(alias)

    async def delete_alias(self, requester: Requester, alias: str) -> None:
        """DELETE /directory/room/{roomAlias}.

        Allowed for the alias's creator, a server admin, or a joined user with
        the power to send ``m.room.canonical_alias`` (Synapse's rule). The alias
        is then dropped from the room's canonical alias event when the user may
        send it; if not, the alias is still deleted (as the spec recommends).

        Raises:
            MatrixError: 400 for a malformed or foreign alias, 404 if unknown,
                403 without permission.
        """
        parsed = RoomAlias.parse(alias)
        if parsed.domain != self.server_name:
            raise MatrixError(
                400, "Room alias must be on this server", Codes.INVALID_PARAM
            )
        mapping = await self.store.get_alias_mapping(alias)
        if mapping is None:
            raise NotFound(f"Room alias {alias} not found")
        check_alias_namespace(self.appservices, requester.app_service_id, alias)
        if not (
            mapping.creator == requester.user_id
            or requester.is_admin
            or requester.app_service_id is not None
            or await self.permissions.may_send_state(
                mapping.room_id, requester.user_id, EventTypes.CANONICAL_ALIAS
            )
        ):
            raise Forbidden("You don't have permission to delete the alias")
        room_id = await self.store.delete_alias(alias)
        if room_id is None:  # deleted by someone else meanwhile
            raise NotFound(f"Room alias {alias} not found")
        logger.info("alias deleted", extra={"alias": alias, "room_id": room_id})
        await self._drop_from_canonical_alias(requester, room_id, alias)

    async def _drop_from_canonical_alias(
        self, requester: Requester, room_id: str, alias: str
    ) -> None:
        state = await self.permissions.state_events(room_id, [CANONICAL_ALIAS_KEY])
        event = state.get(CANONICAL_ALIAS_KEY)
        if event is None:
            return
        content = dict(event.content)
        changed = False
        if content.get("alias") == alias:
            del content["alias"]
            changed = True
        alt = content.get("alt_aliases")
        if isinstance(alt, list) and alias in alt:
            remaining = [a for a in alt if a != alias]
            if remaining:
                content["alt_aliases"] = remaining
            else:
                del content["alt_aliases"]
            changed = True
        if not changed:
            return
        try:
            await self.creator.send(
                room_id, requester.user_id, EventTypes.CANONICAL_ALIAS, content, ""
            )
        except MatrixError as exc:
            logger.info(
                "could not update the canonical alias after deletion: %s", exc.msg
            )

    async def get_room_aliases(self, requester: Requester, room_id: str) -> JsonDict:
        """GET /rooms/{roomId}/aliases: for joined users, admins, or world-readable rooms.

        Raises:
            MatrixError: 403 otherwise (also for an unknown room, as Synapse).
        """
        if not (
            requester.is_admin
            or await self.permissions.is_joined(room_id, requester.user_id)
            or await self.permissions.is_world_readable(room_id)
        ):
            raise Forbidden("You are not a member of the room")
        return {"aliases": await self.store.get_aliases_for_room(room_id)}

    async def move_aliases(self, old_room_id: str, new_room_id: str) -> None:
        """Point every local alias of a room at its replacement (room upgrades)."""
        await self.store.move_aliases(old_room_id, new_room_id)

    # -- m.room.canonical_alias validation ----------------------------------

    async def check_canonical_alias(
        self, event: Event, auth_events: Mapping[StateKey, Event]
    ) -> None:
        """A check for ``EventCreationService.send`` on client-sent state.

        Spec (``PUT /rooms/{roomId}/state``): aliases *new* to an
        ``m.room.canonical_alias`` event must be valid and point to the room;
        aliases kept from the previous event are not checked. Other servers'
        aliases are checked for syntax only, since resolving them needs
        federation. Events of other types pass.

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a malformed value, 400
                M_BAD_ALIAS for a local alias that does not point to the room.
        """
        if event.type != EventTypes.CANONICAL_ALIAS or event.state_key != "":
            return
        previous = await self.permissions.state_events(
            event.room_id, [CANONICAL_ALIAS_KEY]
        )
        old = previous[CANONICAL_ALIAS_KEY].content if previous else {}
        content = event.content
        alias = content.get("alias")
        if alias is not None and alias != "" and alias != old.get("alias"):
            await self._check_points_here(alias, event.room_id)
        alt = content.get("alt_aliases", [])
        if not isinstance(alt, list):
            raise MatrixError(400, "alt_aliases must be a list", Codes.INVALID_PARAM)
        old_alt = old.get("alt_aliases")
        known = (
            set(a for a in old_alt if isinstance(a, str))
            if isinstance(old_alt, list)
            else set()
        )
        for item in alt:
            if not (isinstance(item, str) and item in known):
                await self._check_points_here(item, event.room_id)

    async def _check_points_here(self, alias: Any, room_id: str) -> None:
        if not isinstance(alias, str):
            raise MatrixError(400, "Aliases must be strings", Codes.INVALID_PARAM)
        parsed = RoomAlias.parse(alias)
        if parsed.domain != self.server_name:
            return
        mapping = await self.store.get_alias_mapping(alias)
        if mapping is None or mapping.room_id != room_id:
            raise MatrixError(
                400, f"Room alias {alias} does not point to the room", Codes.BAD_ALIAS
            )

    # -- Directory visibility -------------------------------------------------

    async def get_visibility(self, room_id: str) -> JsonDict:
        """GET /directory/list/room/{roomId}; 404 for an unknown room."""
        public = await self.store.is_room_public(room_id)
        if public is None:
            raise NotFound("Room not found")
        return {"visibility": "public" if public else "private"}

    async def set_visibility(
        self, requester: Requester, room_id: str, visibility: str
    ) -> None:
        """PUT /directory/list/room/{roomId}.

        Allowed for server admins and for joined users with the power to send
        ``m.room.canonical_alias`` (Synapse's "moderator" rule).

        Raises:
            MatrixError: 404 for an unknown room, 403 without permission.
        """
        if await self.store.is_room_public(room_id) is None:
            raise NotFound("Room not found")
        if not requester.is_admin and not await self.permissions.may_send_state(
            room_id, requester.user_id, EventTypes.CANONICAL_ALIAS
        ):
            raise Forbidden(
                "You need to be a moderator in the room to edit its directory entry"
            )
        await self.store.set_room_public(room_id, visibility == "public")

    async def set_appservice_visibility(
        self, requester: Requester, network_id: str, room_id: str, public: bool
    ) -> None:
        """PUT /directory/list/appservice/{networkId}/{roomId}: list (or
        unlist) a room in the requesting application service's directory of
        ``network_id``.

        Raises:
            MatrixError: 403 M_FORBIDDEN unless an application service asks;
                404 for an unknown room.
        """
        if requester.app_service_id is None:
            raise Forbidden("Only application services can edit this room list")
        if not await self.permissions.room_exists(room_id):
            raise NotFound("Unknown room")
        await self.store.set_appservice_room_listed(
            requester.app_service_id, network_id, room_id, public
        )

    async def set_visibility_unchecked(self, room_id: str, public: bool) -> None:
        """Publish or unpublish without permission checks (createRoom, upgrades)."""
        await self.store.set_room_public(room_id, public)

    async def is_public(self, room_id: str) -> bool:
        """Whether the room is published (False for an unknown room)."""
        return bool(await self.store.is_room_public(room_id))
