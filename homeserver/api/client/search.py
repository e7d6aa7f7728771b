"""Server-side search: POST /search.

Spec: client-server API, "Server Side Search".
"""

from __future__ import annotations

from homeserver.api.client.bodies.search import SearchBody
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.errors import Codes, MatrixError
from homeserver.services.accounts.auth import Auth
from homeserver.services.reading.filters import RoomEventFilter, parse_filter
from homeserver.services.search.model import (
    MAX_CONTEXT,
    EventContextRequest,
    SearchRequest,
)
from homeserver.services.search.service import SearchService
from homeserver.storage.stores.search_index import SEARCH_KEYS
from homeserver.types import JsonDict


class SearchEndpoint:
    """POST /search[?next_batch=...]."""

    PATTERNS = client_patterns("/search")

    def __init__(self, auth: Auth, search: SearchService) -> None:
        self.auth = auth
        self.search = search

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(SearchBody)
        criteria = body.search_categories.room_events
        if criteria is None:
            # As Synapse: a search naming no category we know is refused.
            raise MatrixError(
                400, "Invalid search query: no known search category", Codes.UNKNOWN
            )
        context = criteria.event_context
        search_request = SearchRequest(
            search_term=criteria.search_term,
            keys=tuple(dict.fromkeys(criteria.keys)) if criteria.keys else SEARCH_KEYS,
            event_filter=(
                parse_filter(RoomEventFilter, criteria.filter)
                if criteria.filter is not None
                else None
            ),
            order_by=criteria.order_by,
            event_context=(
                EventContextRequest(
                    before_limit=min(context.before_limit, MAX_CONTEXT),
                    after_limit=min(context.after_limit, MAX_CONTEXT),
                    include_profile=context.include_profile,
                )
                if context is not None
                else None
            ),
            group_by=tuple(g.key for g in criteria.groupings.group_by),
            include_state=criteria.include_state,
            next_batch=request.query_str("next_batch"),
        )
        return await self.search.search(requester, search_request)
