"""What a search asks for, and the opaque ``next_batch`` token.

Spec: client-server API, "Server Side Search" (POST /search).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Literal

import attrs

from homeserver.errors import InvalidParam
from homeserver.services.reading.filters import RoomEventFilter
from homeserver.storage.stores.search_index import SEARCH_KEYS
from homeserver.util.json_values import find_bad_value

Order = Literal["rank", "recent"]
GroupKey = Literal["room_id", "sender"]
DEFAULT_LIMIT = 10
# A page of results is at most this long, whatever the filter's limit: each
# result may bring its context and profiles.
MAX_LIMIT = 100
MAX_CONTEXT = 100


@attrs.frozen(kw_only=True)
class EventContextRequest:
    """``event_context``: events around each result, and their senders' profiles."""

    before_limit: int = 5
    after_limit: int = 5
    include_profile: bool = False


@attrs.frozen(kw_only=True)
class SearchRequest:
    """The ``room_events`` category of POST /search, parsed."""

    search_term: str
    keys: tuple[str, ...] = SEARCH_KEYS
    event_filter: RoomEventFilter | None = None
    order_by: Order = "rank"
    event_context: EventContextRequest | None = None
    group_by: tuple[GroupKey, ...] = ()
    include_state: bool = False
    next_batch: str | None = None

    @property
    def limit(self) -> int:
        limit = self.event_filter.limit if self.event_filter else None
        return min(limit or DEFAULT_LIMIT, MAX_LIMIT)


@attrs.frozen
class BatchToken:
    """Where a page of results stopped.

    Args:
        order: the ordering it belongs to (a token is refused in the other).
        position: for ``rank`` (the number of hits read, 0), for ``recent``
            the (origin_server_ts, stream ordering) of the last hit read.
        room_id: the room a room group's token continues in, or None.
    """

    order: Order
    position: tuple[int, int]
    room_id: str | None = None

    def encode(self) -> str:
        raw = json.dumps([self.order, *self.position, self.room_id])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> BatchToken:
        """Raises: InvalidParam: 400 M_INVALID_PARAM for anything not ours."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            order, first, second, room_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            raise InvalidParam("Invalid next_batch token") from None
        if (
            order not in ("rank", "recent")
            or not all(
                isinstance(n, int) and not isinstance(n, bool) for n in (first, second)
            )
            or not (room_id is None or isinstance(room_id, str))
            or find_bad_value([first, second, room_id]) is not None
            or (order == "rank" and first < 0)  # an OFFSET: PostgreSQL refuses < 0
        ):
            raise InvalidParam("Invalid next_batch token")
        return cls(order, (first, second), room_id)
