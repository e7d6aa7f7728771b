"""Body of POST /search.

Spec: client-server API, "Server Side Search".
"""

from __future__ import annotations

from typing import Annotated, Literal

from homeserver.api.http.body import (
    NO_NUL,
    JsonObject,
    NonNegativeInt,
    Omittable,
    RequestBody,
    Str,
)

SearchKey = Annotated[Literal["content.body", "content.name", "content.topic"], NO_NUL]


class EventContextBody(RequestBody):
    """``event_context``: how many events around each result, and profiles."""

    before_limit: NonNegativeInt = 5
    after_limit: NonNegativeInt = 5
    include_profile: bool = False


class GroupBody(RequestBody):
    """One ``groupings.group_by`` entry."""

    key: Annotated[Literal["room_id", "sender"], NO_NUL]


class GroupingsBody(RequestBody):
    """``groupings``: how to group the results."""

    group_by: list[GroupBody] = []


class RoomEventsCriteriaBody(RequestBody):
    """The ``room_events`` category. ``filter`` is a RoomEventFilter, checked
    as filters are (``services/reading/filters.py``)."""

    search_term: Str
    keys: Omittable[list[SearchKey]] = None
    filter: Omittable[JsonObject] = None
    order_by: Annotated[Literal["rank", "recent"], NO_NUL] = "rank"
    event_context: Omittable[EventContextBody] = None
    include_state: bool = False
    groupings: GroupingsBody = GroupingsBody()


class SearchCategoriesBody(RequestBody):
    """``search_categories``: ``room_events`` is the only category."""

    room_events: Omittable[RoomEventsCriteriaBody] = None


class SearchBody(RequestBody):
    """POST /search."""

    search_categories: SearchCategoriesBody
