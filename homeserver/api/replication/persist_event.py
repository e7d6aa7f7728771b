"""Internal: persist an event built by another process (event persisters).

``POST /_chatly/replication/persist_event`` and ``.../persist_outliers``,
called by ``workers.remote_writes.RemoteEventWrites`` of a process that built
or received an event of a room this process persists (docs/architecture.md,
"Workers"). Authenticated by the replication secret in the resource.
"""

from __future__ import annotations

from homeserver.api.http.body import JsonObject, RequestBody, Str
from homeserver.api.replication.resource import InternalPost
from homeserver.errors import Codes, MatrixError
from homeserver.services.rooms.event_writes import EventWriterService
from homeserver.storage.stores.event_routing import EventWrite
from homeserver.types import JsonDict
from homeserver.workers.wire import decode_context, decode_event


class PersistEventBody(RequestBody):
    """An event, the context it was checked against, and its origin."""

    event: JsonObject
    context: JsonObject
    device_id: Str | None = None
    txn_id: Str | None = None
    backfilled: bool = False


class PersistOutliersBody(RequestBody):
    """Outliers of one room, in auth order."""

    events: list[JsonObject]


def _bad(exc: ValueError) -> MatrixError:
    return MatrixError(400, str(exc), Codes.BAD_JSON)


class PersistEventEndpoint(InternalPost[EventWriterService, PersistEventBody]):
    """POST /_chatly/replication/persist_event."""

    ENDPOINT = "persist_event"
    BODY = PersistEventBody

    async def handle(self, body: PersistEventBody) -> JsonDict:
        try:
            event = decode_event(body.event)
            context = decode_context(body.context)
        except ValueError as exc:
            raise _bad(exc) from None
        persisted = await self.target.persist(
            EventWrite(event, context, body.device_id, body.txn_id, body.backfilled)
        )
        return {
            "stream_ordering": persisted.stream_ordering,
            "state_group_after": persisted.state_group_after,
        }


class PersistOutliersEndpoint(InternalPost[EventWriterService, PersistOutliersBody]):
    """POST /_chatly/replication/persist_outliers."""

    ENDPOINT = "persist_outliers"
    BODY = PersistOutliersBody

    async def handle(self, body: PersistOutliersBody) -> JsonDict:
        try:
            events = [decode_event(e) for e in body.events]
        except ValueError as exc:
            raise _bad(exc) from None
        return {"stream_orderings": await self.target.persist_outliers(events)}
