"""Membership event templates (make_join, make_leave, make_knock) and PDUs from
other servers.

Spec: server-server-api.md "Joining Rooms", "Leaving Rooms (Rejecting
Invites)", "Knocking upon a room": the resident server answers ``make_*`` with
an unsigned event template; the joining server fills in ``origin`` and
``origin_server_ts``, adds the content hash and its signature, and sends it back.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection

from signedjson.types import SigningKey

from homeserver.events.auth_rules import check_auth_rules
from homeserver.events.auth_selection import auth_types_for_event
from homeserver.events.builder import finish_event, random_v1_event_id
from homeserver.events.hashing import compute_event_id
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.events.redaction import copy_json
from homeserver.events.room_versions import EventIdFormat, RedactionRules, RoomVersion
from homeserver.events.validation import EventFormatError, validate_pdu
from homeserver.types import JsonDict

# The keys a joining server takes from a template; everything else it sets.
_TEMPLATE_KEYS = (
    "type",
    "room_id",
    "sender",
    "state_key",
    "content",
    "depth",
    "prev_events",
    "auth_events",
)


def check_template(
    template: object, room_id: str, user_id: str, membership: str
) -> JsonDict:
    """Check that a remote server's template is the membership event we asked for.

    Raises:
        EventFormatError: it is not an object, or its type, room, sender,
            state_key or membership are not what was asked.
    """
    if not isinstance(template, dict):
        raise EventFormatError("template is not an object")
    content = template.get("content")
    checks = (
        (template.get("type") == EventTypes.MEMBER, "type"),
        (template.get("room_id") == room_id, "room_id"),
        (template.get("sender") == user_id, "sender"),
        (template.get("state_key") == user_id, "state_key"),
        (
            isinstance(content, dict) and content.get("membership") == membership,
            "content.membership",
        ),
    )
    wrong = [name for ok, name in checks if not ok]
    if wrong:
        raise EventFormatError(f"template has the wrong {', '.join(wrong)}")
    return template


def event_from_template(
    room_version: RoomVersion,
    template: JsonDict,
    *,
    server_name: str,
    signing_key: SigningKey,
    origin_server_ts: int,
    extra_content: JsonDict | None = None,
) -> Event:
    """Complete, hash and sign a ``make_*`` template.

    Args:
        room_version: the room's version (from the make_* answer).
        template: a template already passed through :func:`check_template`.
        server_name: our server name (``origin``, the signer, v1/v2 event IDs).
        signing_key: our signing key.
        origin_server_ts: now, in milliseconds.
        extra_content: content keys to add (reason, displayname...); the
            template's own keys (membership, join_authorised_via_users_server)
            win.

    Raises:
        EventFormatError: the result is not a valid PDU for the room version.
    """
    pdu: JsonDict = {k: copy_json(template[k]) for k in _TEMPLATE_KEYS if k in template}
    content = dict(extra_content or {})
    content.update(pdu.get("content") or {})
    pdu["content"] = content
    pdu["origin_server_ts"] = origin_server_ts
    if room_version.redaction is not RedactionRules.V11:
        pdu["origin"] = server_name
    if room_version.event_id_format is EventIdFormat.V1:
        pdu["event_id"] = random_v1_event_id(server_name)
    return finish_event(pdu, room_version, server_name, signing_key)


def event_from_pdu(pdu: object, room_version: RoomVersion) -> Event:
    """An Event from a PDU another server sent; its format is checked.

    ``unsigned`` is dropped: other servers' local data is not ours to keep.

    Raises:
        EventFormatError: not a valid PDU for the room version.
    """
    if not isinstance(pdu, dict):
        raise EventFormatError("PDU is not an object")
    validate_pdu(pdu, room_version)
    clean = {k: v for k, v in pdu.items() if k != "unsigned"}
    return Event(
        pdu=clean,
        room_version=room_version,
        event_id=compute_event_id(clean, room_version),
    )


def federation_pdu(event: Event) -> JsonDict:
    """The event as it is sent to other servers (no local ``unsigned`` data)."""
    return {k: v for k, v in event.pdu.items() if k != "unsigned"}


STRIPPED_STATE_TYPES: tuple[str, ...] = (
    EventTypes.CREATE,
    EventTypes.JOIN_RULES,
    EventTypes.NAME,
    EventTypes.AVATAR,
    EventTypes.CANONICAL_ALIAS,
    EventTypes.ENCRYPTION,
    EventTypes.TOPIC,
)


def stripped_state(events: Collection[Event]) -> list[JsonDict]:
    """Stripped state events (spec: client-server API "Stripped state")."""
    return [
        {
            "type": e.type,
            "state_key": e.state_key or "",
            "content": e.content,
            "sender": e.sender,
        }
        for e in events
    ]


def check_join_against_state(
    join: Event, state: list[JsonDict], room_version: RoomVersion
) -> None:
    """Check our join against the room state a send_join answer brought
    (PDUs that do not parse are left out, as the inbound pipeline drops them).

    Raises:
        AuthError: that state does not allow the join.
    """
    create_key: StateKey = (EventTypes.CREATE, "")
    wanted = {
        create_key,
        *auth_types_for_event(
            room_version, join.type, join.state_key, join.sender, join.content
        ),
    }
    # Only the few events the auth rules read are parsed (a big room's state
    # has thousands).
    auth_events: dict[StateKey, Event] = {}
    for pdu in state:
        if (pdu.get("type"), pdu.get("state_key")) not in wanted:
            continue
        try:
            event = event_from_pdu(pdu, room_version)
        except EventFormatError:
            continue
        if event.is_state() and event.room_id == join.room_id:
            auth_events[event.state_tuple] = event
    check_auth_rules(join, auth_events, verify_signature=lambda e, s: True)
