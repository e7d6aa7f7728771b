"""Internal: set a typist on the typing stream's writer.

``POST /_chatly/replication/typing``, called by
``workers.remote_writes.RemoteTyping`` after the receiving process checked
the request (the typist is the requester and joined).
"""

from __future__ import annotations

from homeserver.api.http.body import NonNegativeInt, RequestBody, Str
from homeserver.api.replication.resource import InternalPost
from homeserver.services.sync_data.typing import TypingService
from homeserver.types import JsonDict


class TypingWriteBody(RequestBody):
    """Who types where, and for how long at most."""

    room_id: Str
    user_id: Str
    typing: bool
    timeout_ms: NonNegativeInt


class TypingWriteEndpoint(InternalPost[TypingService, TypingWriteBody]):
    """POST /_chatly/replication/typing."""

    ENDPOINT = "typing"
    BODY = TypingWriteBody

    async def handle(self, body: TypingWriteBody) -> JsonDict:
        self.target.apply_typing(
            body.room_id, body.user_id, body.typing, body.timeout_ms
        )
        return {}
