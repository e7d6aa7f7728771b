"""Internal: a presence change, made on the presence stream's writer.

``POST /_chatly/replication/presence`` with an ``op`` (``set_status``,
``syncing``, ``stopped_syncing``, ``bump_activity``, ``remote``), called by
``workers.remote_writes.RemotePresence`` after the receiving process checked
the request.
"""

from __future__ import annotations

from typing import Literal

from homeserver.api.http.body import Int, RequestBody, Str
from homeserver.api.replication.resource import InternalPost
from homeserver.services.presence.presence import PresenceService
from homeserver.storage.stores.presence import UserPresence
from homeserver.types import JsonDict


class PresenceFields(RequestBody):
    """A ``UserPresence`` as ``attrs.asdict`` gives it."""

    user_id: Str
    state: Str
    status_msg: Str | None = None
    last_active_ts: Int = 0
    last_user_sync_ts: Int = 0
    currently_active: bool = False
    stream_id: Int = 0


class PresenceWriteBody(RequestBody):
    """One presence operation and its arguments."""

    op: Literal["set_status", "syncing", "stopped_syncing", "bump_activity", "remote"]
    user_id: Str = ""
    presence: Str = ""
    status_msg: Str | None = None
    set_presence: Str | None = None
    states: list[PresenceFields] = []


class PresenceWriteEndpoint(InternalPost[PresenceService, PresenceWriteBody]):
    """POST /_chatly/replication/presence."""

    ENDPOINT = "presence"
    BODY = PresenceWriteBody

    async def handle(self, body: PresenceWriteBody) -> JsonDict:
        service = self.target
        if body.op == "set_status":
            await service.set_status_here(body.user_id, body.presence, body.status_msg)
        elif body.op == "syncing":
            await service.user_syncing_here(body.user_id, body.set_presence)
        elif body.op == "stopped_syncing":
            service.user_stopped_syncing_here(body.user_id)
        elif body.op == "bump_activity":
            await service.bump_activity_here(body.user_id)
        else:
            await service.apply_remote_presence_here(
                [UserPresence(**s.model_dump()) for s in body.states]
            )
        return {}
