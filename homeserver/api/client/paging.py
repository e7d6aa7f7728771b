"""Query parameters shared by the client API's paginated reads: ``limit``
and room stream tokens (``from``, ``to``, ``at``)."""

from __future__ import annotations

from homeserver.api.http.request import ApiRequest
from homeserver.errors import InvalidParam
from homeserver.streams.tokens import RoomStreamToken


def room_token_param(request: ApiRequest, name: str) -> RoomStreamToken | None:
    """The room stream token in query parameter ``name``, if given.

    Raises:
        MatrixError: 400 M_INVALID_PARAM for a malformed token.
    """
    value = request.query_str(name)
    return RoomStreamToken.parse(value, name) if value else None


def limit_param(request: ApiRequest) -> int | None:
    """The ``limit`` query parameter, if given.

    Raises:
        InvalidParam: not an integer, or negative.
    """
    limit = request.query_int("limit")
    if limit is not None and limit < 0:
        raise InvalidParam("limit must not be negative")
    return limit
