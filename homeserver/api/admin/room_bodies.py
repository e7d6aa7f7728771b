"""Bodies of the room admin API (Synapse's ``docs/admin_api/rooms.md`` and
``purge_history_api.md``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from homeserver.api.http.body import NonEmptyStr, RequestBody, Str


class DeleteRoomBody(RequestBody):
    """DELETE /_synapse/admin/v1|v2/rooms/{roomId} (the body must be at
    least ``{}``)."""

    new_room_user_id: NonEmptyStr | None = None
    room_name: Str | None = None
    message: Str | None = None
    block: bool = False
    purge: bool = True
    force_purge: bool = False


class BlockRoomBody(RequestBody):
    """PUT /_synapse/admin/v1/rooms/{roomId}/block."""

    block: bool


class JoinRoomBody(RequestBody):
    """POST /_synapse/admin/v1/join/{roomIdOrAlias}."""

    user_id: NonEmptyStr


class MakeRoomAdminBody(RequestBody):
    """POST /_synapse/admin/v1/rooms/{roomId}/make_room_admin: the user to
    make room admin (the requesting admin when left out)."""

    user_id: NonEmptyStr | None = None


class PurgeHistoryBody(RequestBody):
    """POST /_synapse/admin/v1/purge_history/{roomId}[/{eventId}]."""

    delete_local_events: bool = False
    purge_up_to_event_id: NonEmptyStr | None = None
    purge_up_to_ts: int | None = None


class RedactUserBody(RequestBody):
    """POST /_synapse/admin/v1/user/{userId}/redact."""

    rooms: list[NonEmptyStr]
    reason: Str | None = None
    limit: Annotated[int, Field(gt=0)] = 1000
    use_admin: bool = False
    before_ts: int | None = None
    after_ts: int | None = None
