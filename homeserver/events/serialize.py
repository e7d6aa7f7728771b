"""The client event format: the one place events are shaped for clients.

Spec: client-server API, "Room Event Format" / "ClientEvent", "unsigned".
Pure: everything it needs is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from homeserver.events.model import Event
from homeserver.events.redaction import redact_pdu
from homeserver.types import JsonDict

_CLIENT_KEYS = ("content", "origin_server_ts", "sender", "type")


def serialize_event(
    event: Event,
    now_ms: int,
    *,
    requester_device: tuple[str, str] | None = None,
    prev_event: Event | None = None,
    redaction: JsonDict | None = None,
    include_room_id: bool = True,
    event_format: str = "client",
    fields: Sequence[str] | None = None,
    relations: JsonDict | None = None,
) -> JsonDict:
    """An event as clients see it.

    Args:
        event: the event.
        now_ms: the current time, for ``unsigned.age``.
        requester_device: (user_id, device_id) asking; the sending device sees
            its ``transaction_id``.
        prev_event: the state event this one replaced, for ``prev_content``.
        redaction: the serialised redaction, if the event has been redacted.
        include_room_id: False inside /sync's per-room sections.
        event_format: "client" or "federation" (the raw PDU).
        fields: if given, only these (dotted) fields are kept (filter event_fields).
        relations: the bundled aggregations, for ``unsigned["m.relations"]``.
    """
    pdu = event.pdu
    if redaction is not None:
        pdu = redact_pdu(pdu, event.room_version)
    if event_format == "federation":
        body: JsonDict = dict(pdu)
        body.pop("unsigned", None)
        body["event_id"] = event.event_id
    else:
        body = {key: pdu[key] for key in _CLIENT_KEYS if key in pdu}
        body["event_id"] = event.event_id
        if include_room_id:
            body["room_id"] = event.room_id
        if event.is_state():
            body["state_key"] = event.state_key
        redacts = event.redacts
        if redacts is not None and redaction is None:
            body["redacts"] = redacts
    unsigned: JsonDict = {"age": max(0, now_ms - event.origin_server_ts)}
    if requester_device is not None and event.txn_id is not None:
        if (event.sender, event.sender_device_id) == requester_device:
            unsigned["transaction_id"] = event.txn_id
    if prev_event is not None:
        unsigned["prev_content"] = prev_event.content
        unsigned["prev_sender"] = prev_event.sender
        unsigned["replaces_state"] = prev_event.event_id
    if redaction is not None:
        unsigned["redacted_because"] = redaction
    unsigned.update(event.unsigned)
    if relations:
        unsigned["m.relations"] = relations
    body["unsigned"] = unsigned
    if fields:
        body = only_fields(body, fields)
    return body


def only_fields(body: JsonDict, fields: Sequence[str]) -> JsonDict:
    """Keep only the dotted ``fields`` (filter ``event_fields``; ``\\.`` escapes a dot)."""
    out: JsonDict = {}
    for field in fields:
        parts = [p.replace("\\.", ".") for p in _split_dotted(field)]
        value: Any = body
        for part in parts:
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            target = out
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = value
    return out


def _split_dotted(field: str) -> list[str]:
    parts, current, i = [], "", 0
    while i < len(field):
        if field[i] == "\\" and i + 1 < len(field) and field[i + 1] == ".":
            current += "\\."
            i += 2
            continue
        if field[i] == ".":
            parts.append(current)
            current = ""
        else:
            current += field[i]
        i += 1
    parts.append(current)
    return parts
