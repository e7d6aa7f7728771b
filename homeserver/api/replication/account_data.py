"""Internal: an account data write on the account_data stream's writer.

``POST /_chatly/replication/account_data``, called by
``workers.remote_writes.RemoteAccountData`` after the receiving process
checked the request. A plain set (``compare`` false) writes ``content``; a
read-modify-write made elsewhere (tags, read markers, hidden events) comes as
a compare-and-set: ``content`` is written only if the stored content still
equals ``expected`` (null: unset), else the answer carries the ``current``
content and the caller computes again. ``content`` null leaves it as it is.
Answers ``{"position": N or null}``, plus ``"current"`` on a conflict.
"""

from __future__ import annotations

from homeserver.api.http.body import JsonObject, RequestBody, Str
from homeserver.api.replication.resource import InternalPost
from homeserver.services.sync_data.account_data import AccountDataService
from homeserver.types import JsonDict


class AccountDataWriteBody(RequestBody):
    """One type of one user's account data (``room_id`` "" for global)."""

    user_id: Str
    room_id: Str
    type: Str
    content: JsonObject | None = None
    compare: bool = False
    expected: JsonObject | None = None


class AccountDataWriteEndpoint(InternalPost[AccountDataService, AccountDataWriteBody]):
    """POST /_chatly/replication/account_data."""

    ENDPOINT = "account_data"
    BODY = AccountDataWriteBody

    async def handle(self, body: AccountDataWriteBody) -> JsonDict:
        if not body.compare:
            if body.content is None:
                return {"position": None}
            put = await self.target.put_here(
                body.user_id, body.room_id, body.type, body.content
            )
            return {"position": put}
        conflict: list[JsonDict | None] = []

        def compare_and_set(current: JsonDict | None) -> JsonDict | None:
            if current != body.expected:
                conflict.append(current)
                return None
            return body.content

        position = await self.target.update_here(
            body.user_id, body.room_id, body.type, compare_and_set
        )
        if conflict:
            return {"position": None, "current": conflict[0]}
        return {"position": position}
