"""Bodies of room aliases and the published room directory.

Spec: client-server API, "Room aliases" and "Published room directory"
(list_public_rooms.yaml); the federation ``POST /publicRooms`` takes the same
body (server-server API, "Public Room Directory").
"""

from __future__ import annotations

from typing import Annotated, Literal

from homeserver.api.http.body import NO_NUL, Int, RequestBody, Str
from homeserver.services.rooms.room_list import PublicRoomsQuery


class AliasBody(RequestBody):
    """PUT /directory/room/{roomAlias}."""

    room_id: Str


class DirectoryVisibilityBody(RequestBody):
    """PUT /directory/list/room/{roomId}."""

    visibility: Annotated[Literal["public", "private"], NO_NUL] = "public"


class AppServiceDirectoryBody(RequestBody):
    """PUT /directory/list/appservice/{networkId}/{roomId}."""

    visibility: Annotated[Literal["public", "private"], NO_NUL]


class PublicRoomsFilter(RequestBody):
    """The ``filter`` of POST /publicRooms."""

    generic_search_term: Str | None = None
    # null in the list stands for rooms without a type.
    room_types: list[Str | None] | None = None


class PublicRoomsBody(RequestBody):
    """POST /publicRooms. A negative ``limit`` is refused by the service,
    as it is in the GET form's query."""

    limit: Int | None = None
    since: Str | None = None
    filter: PublicRoomsFilter | None = None
    include_all_networks: bool = False
    third_party_instance_id: Str | None = None

    def query(self, server: str | None) -> PublicRoomsQuery:
        """The directory query this body asks for, of ``server``'s directory."""
        search = self.filter or PublicRoomsFilter()
        return PublicRoomsQuery(
            limit=self.limit,
            since=self.since,
            server=server,
            search_term=search.generic_search_term or None,
            room_types=(
                tuple(search.room_types) if search.room_types is not None else None
            ),
            third_party_instance_id=self.third_party_instance_id,
            include_all_networks=self.include_all_networks,
        )
