"""Federation queries: profiles, room aliases and the published room directory.

Spec: server-server-api.md "Query Types" (GET /_matrix/federation/v1/query/
profile, /query/directory) and "Public Room Directory" (GET and POST
/_matrix/federation/v1/publicRooms). ``FederationQueries`` answers other
servers; ``RemoteQueries`` asks them for our clients.
"""

from __future__ import annotations

import logging
from typing import Any

from homeserver.errors import Codes, InvalidParam, MatrixError, NotFound
from homeserver.federation.errors import (
    HttpResponseError,
    RequestSendFailed,
    client_error,
)
from homeserver.federation.interfaces import FederationTransport
from homeserver.services.rooms.room_list import PublicRoomsQuery, RoomListService
from homeserver.storage.stores.directory import DirectoryStore
from homeserver.storage.stores.profiles import ProfileStore
from homeserver.storage.stores.remote_rooms import RemoteRoomStore
from homeserver.storage.stores.users import UserStore
from homeserver.types import JsonDict, RoomAlias, UserID

logger = logging.getLogger(__name__)

PROFILE_FIELDS = ("displayname", "avatar_url")
QUERY_TIMEOUT_MS = 30_000


class FederationQueries:
    """Answers other servers' queries about this server's users and rooms."""

    def __init__(
        self,
        *,
        server_name: str,
        users: UserStore,
        profiles: ProfileStore,
        aliases: DirectoryStore,
        remote_rooms: RemoteRoomStore,
        room_list: RoomListService,
    ) -> None:
        self.server_name = server_name
        self.users = users
        self.profiles = profiles
        self.aliases = aliases
        self.remote_rooms = remote_rooms
        self.room_list = room_list

    async def profile(self, user_id: str | None, field: str | None) -> JsonDict:
        """query/profile: the user's profile, or one field of it.

        An unset field of a user we have is left out (200 ``{}`` for a
        one-field query), as Synapse answers.

        Raises:
            MatrixError: 400 for a missing or foreign user ID or an unknown
                field; 404 for a user we do not have.
        """
        if not user_id:
            raise MatrixError(400, "Missing user_id", Codes.MISSING_PARAM)
        if UserID.parse(user_id).domain != self.server_name:
            raise InvalidParam(f"{user_id} is not a user of this server")
        if field is not None and field not in PROFILE_FIELDS:
            raise InvalidParam(f"Unknown profile field {field}")
        if await self.users.get_user(user_id) is None:
            raise NotFound("Profile was not found")
        profile = await self.profiles.get_profile(user_id) or {}
        if field is not None:
            return {field: profile[field]} if profile.get(field) is not None else {}
        return {k: profile[k] for k in PROFILE_FIELDS if profile.get(k) is not None}

    async def directory(self, room_alias: str | None) -> JsonDict:
        """query/directory: the room an alias of ours points at, and the
        servers in it (this one first)."""
        if not room_alias:
            raise MatrixError(400, "Missing room_alias", Codes.MISSING_PARAM)
        if RoomAlias.parse(room_alias).domain != self.server_name:
            raise InvalidParam(f"{room_alias} is not an alias of this server")
        mapping = await self.aliases.get_alias_mapping(room_alias)
        if mapping is None:
            raise NotFound(f"Room alias {room_alias} not found")
        hosts = await self.remote_rooms.get_joined_hosts(mapping.room_id)
        hosts.discard(self.server_name)
        return {
            "room_id": mapping.room_id,
            "servers": [self.server_name, *sorted(hosts)],
        }

    async def public_rooms(self, query: PublicRoomsQuery) -> JsonDict:
        """publicRooms: our published room directory."""
        return await self.room_list.get_public_rooms(query)


PROFILE_STRING_FIELDS = ("displayname", "avatar_url")


class RemoteQueries:
    """Asks other servers on behalf of our clients."""

    def __init__(self, transport: FederationTransport) -> None:
        self.transport = transport

    async def _get(self, destination: str, path: str, query: Any, what: str) -> Any:
        try:
            return await self.transport.get_json(
                destination, path, query, timeout_ms=QUERY_TIMEOUT_MS
            )
        except (HttpResponseError, RequestSendFailed) as exc:
            logger.info("%s at %s failed: %s", what, destination, exc)
            raise client_error(exc, what) from None

    async def profile(self, user_id: str, field: str | None) -> JsonDict:
        """Another server's user's profile (or one field)."""
        query = {"user_id": user_id}
        if field is not None:
            query["field"] = field
        answer = await self._get(
            UserID.parse(user_id).domain,
            "/_matrix/federation/v1/query/profile",
            query,
            "Profile lookup",
        )
        if not isinstance(answer, dict):
            raise MatrixError(502, "Bad profile answer", Codes.UNKNOWN)
        # The spec'd fields are strings; an answer that says otherwise loses them.
        answer = {
            k: v
            for k, v in answer.items()
            if k not in PROFILE_STRING_FIELDS or isinstance(v, str)
        }
        # A field left out is unset (the profile service decides the answer).
        return answer

    async def directory(self, room_alias: str) -> JsonDict:
        """Where another server's alias points: ``{room_id, servers}``."""
        answer = await self._get(
            RoomAlias.parse(room_alias).domain,
            "/_matrix/federation/v1/query/directory",
            {"room_alias": room_alias},
            "Alias lookup",
        )
        room_id = answer.get("room_id") if isinstance(answer, dict) else None
        servers = answer.get("servers") if isinstance(answer, dict) else None
        if not isinstance(room_id, str) or not room_id.startswith("!"):
            raise MatrixError(502, "Bad alias answer", Codes.UNKNOWN)
        return {
            "room_id": room_id,
            "servers": [s for s in servers or [] if isinstance(s, str)],
        }

    async def public_rooms(self, server: str, query: PublicRoomsQuery) -> JsonDict:
        """Another server's published room directory."""
        path = "/_matrix/federation/v1/publicRooms"
        if query.search_term is None and query.room_types is None:
            params: dict[str, str] = {}
            if query.limit:
                params["limit"] = str(query.limit)
            if query.since:
                params["since"] = query.since
            if query.third_party_instance_id:
                params["third_party_instance_id"] = query.third_party_instance_id
            answer = await self._get(server, path, params, "Room directory")
        else:
            body: JsonDict = {"filter": {}}
            if query.limit:
                body["limit"] = query.limit
            if query.since:
                body["since"] = query.since
            if query.search_term is not None:
                body["filter"]["generic_search_term"] = query.search_term
            if query.room_types is not None:
                body["filter"]["room_types"] = list(query.room_types)
            if query.third_party_instance_id:
                body["third_party_instance_id"] = query.third_party_instance_id
            try:
                answer = await self.transport.post_json(
                    server, path, body, timeout_ms=QUERY_TIMEOUT_MS
                )
            except (HttpResponseError, RequestSendFailed) as exc:
                logger.info("publicRooms at %s failed: %s", server, exc)
                raise client_error(exc, "Room directory") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("chunk"), list):
            raise MatrixError(502, "Bad room directory answer", Codes.UNKNOWN)
        return answer
