"""Events and their persistence contexts as JSON, for internal HTTP.

A process that builds an event in a room whose event persister is another
process sends the event and the ``EventContext`` it was checked against; the
persister writes exactly what the sender decided. Pure functions over plain
data: ``encode_*`` and ``decode_*`` are inverse, and decoding rejects a
malformed body with ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeserver.events.model import Event, StateKey
from homeserver.events.room_versions import get_room_version
from homeserver.storage.stores.event_persistence import EventContext
from homeserver.types import JsonDict


def encode_event(event: Event) -> JsonDict:
    """What a persister needs of an event (its PDU and local flags)."""
    return {
        "pdu": event.pdu,
        "room_version": event.room_version.identifier,
        "event_id": event.event_id,
        "rejected_reason": event.rejected_reason,
        "outlier": event.outlier,
        "soft_failed": event.soft_failed,
    }


def decode_event(body: Any) -> Event:
    """The event ``encode_event`` described.

    Raises:
        ValueError: not such a description.
    """
    if not isinstance(body, dict) or not isinstance(body.get("pdu"), dict):
        raise ValueError("event: expected an object with a pdu")
    version = get_room_version(str(body.get("room_version")))
    if version is None:
        raise ValueError("event: unknown room version")
    event_id = body.get("event_id")
    rejected = body.get("rejected_reason")
    if not isinstance(event_id, str) or not (
        rejected is None or isinstance(rejected, str)
    ):
        raise ValueError("event: bad event_id or rejected_reason")
    return Event(
        pdu=body["pdu"],
        room_version=version,
        event_id=event_id,
        rejected_reason=rejected,
        outlier=bool(body.get("outlier")),
        soft_failed=bool(body.get("soft_failed")),
    )


def _encode_state(state: Mapping[StateKey, str] | None) -> list[list[str]] | None:
    if state is None:
        return None
    return [[t, k, e] for (t, k), e in state.items()]


def _decode_state(rows: Any) -> dict[StateKey, str] | None:
    if rows is None:
        return None
    if not isinstance(rows, list):
        raise ValueError("context: a state map must be a list")
    state: dict[StateKey, str] = {}
    for row in rows:
        if (
            not isinstance(row, list)
            or len(row) != 3
            or not all(isinstance(v, str) for v in row)
        ):
            raise ValueError("context: bad state row")
        state[(row[0], row[1])] = row[2]
    return state


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("context: expected an integer")
    return value


def encode_context(context: EventContext) -> JsonDict:
    """An ``EventContext`` as JSON (state maps as [type, state_key, id] rows)."""
    return {
        "state_before": _encode_state(context.state_before),
        "state_group_before": context.state_group_before,
        "delta_base_group": context.delta_base_group,
        "delta_base_state": _encode_state(context.delta_base_state),
        "update_current_state": context.update_current_state,
        "resolved": context.resolved,
        "new_current_state": _encode_state(context.new_current_state),
        "apply_redaction": context.apply_redaction,
        "sole_extremity": context.sole_extremity,
        "fresh": context.fresh,
    }


def decode_context(body: Any) -> EventContext:
    """The context ``encode_context`` described.

    Raises:
        ValueError: not such a description.
    """
    if not isinstance(body, dict):
        raise ValueError("context: expected an object")
    return EventContext(
        state_before=_decode_state(body.get("state_before")) or {},
        state_group_before=_optional_int(body.get("state_group_before")),
        delta_base_group=_optional_int(body.get("delta_base_group")),
        delta_base_state=_decode_state(body.get("delta_base_state")),
        update_current_state=bool(body.get("update_current_state", True)),
        resolved=bool(body.get("resolved")),
        new_current_state=_decode_state(body.get("new_current_state")),
        apply_redaction=bool(body.get("apply_redaction", True)),
        sole_extremity=bool(body.get("sole_extremity")),
        fresh=bool(body.get("fresh")),
    )
