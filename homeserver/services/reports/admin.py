"""Reading reports as an admin, at Synapse's admin API paths.

``GET /_synapse/admin/v1/event_reports`` (``from``, ``limit``, ``dir``,
``room_id``, ``user_id``, ``event_sender_user_id``; ``total``,
``next_token``), ``GET``/``DELETE .../event_reports/{id}``, and the same for
``user_reports`` (``user_id``, ``target_user_id``), as Synapse's admin API
documents them; ``room_reports`` (``user_id``, ``room_id``) has the same shape
(Synapse keeps room reports but lists them nowhere). ``room_id`` and
``user_id`` match substrings, as in Synapse.
"""

from __future__ import annotations

from homeserver.errors import Codes, InvalidParam, MatrixError, NotFound
from homeserver.events.model import EventTypes
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.reports import Report, ReportStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict

DEFAULT_LIMIT = 100
_NAMES = {"event": "Event report", "room": "Room report", "user": "User report"}
_BAD_ID = "The report_id parameter must be a string representing a positive integer."


class ReportAdmin:
    """Lists, shows and deletes reports for server admins."""

    def __init__(
        self, store: ReportStore, events: EventStore, room_state: RoomStateStore
    ) -> None:
        self.store = store
        self.events = events
        self.room_state = room_state

    async def list_reports(
        self,
        kind: str,
        start: int | None,
        limit: int | None,
        direction: str | None,
        filters: dict[str, str | None],
    ) -> JsonDict:
        """One page: ``{<kind>_reports, total, next_token?}``.

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a negative ``from`` or
                ``limit``, or a ``dir`` other than ``b`` or ``f``.
        """
        start = 0 if start is None else start
        limit = DEFAULT_LIMIT if limit is None else limit
        if start < 0:
            raise InvalidParam("The start parameter must be a positive integer.")
        if limit < 0:
            raise InvalidParam("The limit parameter must be a positive integer.")
        if direction not in (None, "b", "f"):
            raise InvalidParam("Query parameter 'dir' must be one of ['b', 'f']")
        reports, total = await self.store.list_reports(
            kind, start, limit, direction != "f", filters
        )
        entries = [await self._entry(kind, r) for r in reports]
        page: JsonDict = {f"{kind}_reports": entries, "total": total}
        if start + limit < total:
            page["next_token"] = start + len(entries)
        return page

    async def get_report(self, kind: str, report_id: str) -> JsonDict:
        """One report (an event report with ``event_json``); 404 if unknown."""
        report = await self.store.get_report(kind, _parse_id(report_id))
        if report is None:
            raise NotFound(f"{_NAMES[kind]} not found")
        entry = await self._entry(kind, report)
        if kind == "event" and report.event_id:
            event = await self.events.get_event(report.event_id)
            entry["event_json"] = event.pdu if event is not None else None
        return entry

    async def delete_report(self, kind: str, report_id: str) -> JsonDict:
        """Delete one report; 404 if unknown."""
        if not await self.store.delete_report(kind, _parse_id(report_id)):
            raise NotFound(f"{_NAMES[kind]} not found")
        return {}

    async def _entry(self, kind: str, report: Report) -> JsonDict:
        entry: JsonDict = {
            "id": report.id,
            "received_ts": report.received_ts,
            "user_id": report.user_id,
            "reason": report.reason,
        }
        if kind == "user":
            entry["target_user_id"] = report.target_user_id
            return entry
        entry["room_id"] = report.room_id
        entry.update(await self._room_names(str(report.room_id)))
        if kind == "event":
            event = await self.events.get_event(str(report.event_id))
            entry["event_id"] = report.event_id
            entry["score"] = report.content.get("score")
            entry["sender"] = event.sender if event is not None else None
        return entry

    async def _room_names(self, room_id: str) -> JsonDict:
        names: JsonDict = {"name": None, "canonical_alias": None}
        for event_type, key, field in (
            (EventTypes.NAME, "name", "name"),
            (EventTypes.CANONICAL_ALIAS, "canonical_alias", "alias"),
        ):
            event_id = await self.room_state.get_current_state_event_id(
                room_id, event_type, ""
            )
            event = await self.events.get_event(event_id) if event_id else None
            value = (
                event.content.get(field) if event and not event.redacted_by else None
            )
            names[key] = value if isinstance(value, str) else None
        return names


def _parse_id(report_id: str) -> int:
    try:
        number = int(report_id)
    except ValueError:
        raise MatrixError(400, _BAD_ID, Codes.INVALID_PARAM) from None
    if number < 0 or number >= 2**63:
        raise MatrixError(400, _BAD_ID, Codes.INVALID_PARAM)
    return number
