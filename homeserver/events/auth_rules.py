"""The authorization rules of room versions 1 to 12.

Spec: rooms/fragments/v1-auth-rules.md (v1, v2), v3-auth-rules.md (v3-v5),
rooms/v6.md, rooms/v7.md, rooms/fragments/v8-auth-rules.md (v8, v9),
rooms/v10.md, rooms/v11.md, rooms/v12.md; server-server-api "Checks performed on
receipt of a PDU". Pure: no I/O.

The rules are split in two, as the receipt checks use them:

- :func:`check_auth_events_list` (``auth_selection``): the rules about the
  event's own ``auth_events`` list (v1-v11 rule 2, v12 rule 3), checked once.
- :func:`check_auth_rules`: everything else, against a given auth state; run
  against the auth events, the state before the event, and the current state
  (soft failure), and by state resolution's iterative auth checks.

Rule numbers in comments are those of v12 unless stated.
"""

from __future__ import annotations

from homeserver.events.auth_common import (
    CREATE_KEY,
    AuthError,
    AuthEvents,
    membership_of,
    room_creators,
    short_repr,
)
from homeserver.events.auth_membership import SignatureVerifier, check_membership
from homeserver.events.auth_selection import (
    auth_types_for_event,
    check_auth_events_list,
)
from homeserver.events.ids import (
    EVENT_SIGIL,
    is_valid_user_id,
    room_id_of_create_event,
    try_domain_of,
)
from homeserver.events.model import Event, EventTypes, Membership
from homeserver.events.power_levels import (
    check_power_levels_event,
    get_named_power_level,
    get_required_power_level,
    get_user_power_level,
)
from homeserver.events.room_versions import EventIdFormat, get_room_version

__all__ = [
    "AuthError",
    "AuthEvents",
    "SignatureVerifier",
    "auth_types_for_event",
    "check_auth_events_list",
    "check_auth_rules",
    "get_named_power_level",
    "get_required_power_level",
    "get_user_power_level",
    "room_creators",
    "signature_present",
]


def check_auth_rules(
    event: Event,
    auth_events: AuthEvents,
    *,
    verify_signature: SignatureVerifier | None = None,
) -> None:
    """Check ``event`` against the authorization rules of its room version.

    Args:
        event: the event to authorize.
        auth_events: the auth state, ``(type, state_key) -> Event``. It must
            hold the room's create event under ``("m.room.create", "")`` in
            every room version (in v12 too, where it is never an auth event).
        verify_signature: ``verify_signature(event, server_name)`` says whether
            the event is validly signed by that server; used for
            ``join_authorised_via_users_server`` (v8+). With None, a member
            event carrying that key is rejected.

    Raises:
        AuthError: the event is not allowed. Nothing else is raised for
            malformed content.
    """
    pdu = event.pdu
    if not isinstance(pdu.get("type"), str) or not isinstance(pdu.get("sender"), str):
        raise AuthError("Event has no valid type or sender")
    if event.type == EventTypes.CREATE:
        _check_create(event)
        return
    create = _check_room(event, auth_events)
    # Rule 4: m.federate.
    federate = create.content.get("m.federate", True)
    if federate is not True and try_domain_of(event.sender) != try_domain_of(
        create.sender
    ):
        raise AuthError("This room does not federate with the sender's server")
    version = event.room_version
    if version.special_case_aliases_auth and event.type == EventTypes.ALIASES:
        _check_aliases(event)  # v1-v5 rule 4
        return
    if event.type == EventTypes.MEMBER:
        check_membership(event, auth_events, create, verify_signature)
        return
    _check_non_member(event, auth_events)


def _check_non_member(event: Event, auth_events: AuthEvents) -> None:
    """Rules 6-11: every event but create, member and (v1-v5) aliases."""
    version = event.room_version
    # Rule 6.
    if membership_of(event.sender, auth_events) != Membership.JOIN:
        raise AuthError(f"{event.sender} is not in the room")
    sender_level = get_user_power_level(event.sender, auth_events)
    # Rule 7.
    if event.type == EventTypes.THIRD_PARTY_INVITE:
        if sender_level < get_named_power_level("invite", auth_events):
            raise AuthError("You don't have permission to invite users")
        return
    # Rule 8. A state_key that is present but not a string is malformed.
    state_key = event.state_key if event.is_state() else None
    if event.is_state() and state_key is None:
        raise AuthError("Event has a non-string state_key")
    required = get_required_power_level(event.type, state_key, auth_events)
    if sender_level < required:
        raise AuthError(
            f"Sending {event.type} needs power level {required}, "
            f"you have {sender_level}"
        )
    # Rule 9.
    if state_key is not None and state_key.startswith("@"):
        if state_key != event.sender:
            raise AuthError("You cannot set state keyed to another user")
    # Rule 10.
    if event.type == EventTypes.POWER_LEVELS:
        check_power_levels_event(event, auth_events)
    # v1-v2 rule 11: redactions.
    if event.type == EventTypes.REDACTION and version.event_id_format is (
        EventIdFormat.V1
    ):
        _check_v1_redaction(event, sender_level, auth_events)


def signature_present(event: Event, server_name: str) -> bool:
    """A ``verify_signature`` for events whose signatures were already verified.

    The receipt pipeline verifies every signature on an event before the auth
    rules run, so afterwards (e.g. in state resolution) it suffices to see that
    the server's signature is there.

    Args:
        event: an event whose signatures have all been verified.
        server_name: the server that must have signed it.

    Returns:
        Whether the event carries a signature from ``server_name``.
    """
    signatures = event.pdu.get("signatures")
    return isinstance(signatures, dict) and bool(signatures.get(server_name))


def _check_create(event: Event) -> None:
    """Rule 1: the create event."""
    version = event.room_version
    prev_events = event.pdu.get("prev_events")
    if prev_events is not None and prev_events != []:
        raise AuthError("The create event has prev_events")
    if version.room_id_is_create_hash:
        if "room_id" in event.pdu:
            raise AuthError("The create event must not have a room_id")
    else:
        room_domain = try_domain_of(event.pdu.get("room_id"))
        if room_domain is None or room_domain != try_domain_of(event.sender):
            raise AuthError("The create event's room_id is not on the sender's server")
    content = event.content
    if "room_version" in content:
        room_version = content["room_version"]
        if not isinstance(room_version, str) or get_room_version(room_version) is None:
            raise AuthError(f"Unknown room version {short_repr(room_version)}")
    if not version.implicit_room_creator and "creator" not in content:
        raise AuthError("The create event has no creator")
    if version.additional_creators and "additional_creators" in content:
        creators = content["additional_creators"]
        if not isinstance(creators, list) or not all(map(is_valid_user_id, creators)):
            raise AuthError("additional_creators must be a list of user IDs")


def _check_room(event: Event, auth_events: AuthEvents) -> Event:
    """Find the create event and check the event belongs to its room.

    v12 rule 2: the room ID is the ID of an accepted create event, with ``!``.
    For every version, as a safeguard, every auth event must be in the event's
    room (the spec says so for the auth events list; a state map built by the
    caller should already satisfy it).
    """
    create = auth_events.get(CREATE_KEY)
    if create is None or create.type != EventTypes.CREATE:
        raise AuthError("No create event in the auth state")
    if event.room_version.room_id_is_create_hash:
        if create.rejected_reason is not None:
            raise AuthError("The room's create event was rejected")
        if not create.event_id.startswith(EVENT_SIGIL) or (
            event.room_id != room_id_of_create_event(create.event_id)
        ):
            raise AuthError("The room ID is not that of the create event")
    for auth_event in auth_events.values():
        if auth_event.room_id != event.room_id:
            raise AuthError(f"Auth event {auth_event.event_id} is in another room")
    return create


def _check_aliases(event: Event) -> None:
    """v1-v5 rule 4: ``m.room.aliases`` is keyed by, and sent from, a server."""
    if not event.is_state() or event.state_key is None:
        raise AuthError("m.room.aliases must have a state_key")
    if event.state_key != try_domain_of(event.sender):
        raise AuthError("m.room.aliases state_key must be the sender's server")


def _check_v1_redaction(
    event: Event, sender_level: int | float, auth_events: AuthEvents
) -> None:
    """v1-v2 rule 11: the redact level, or redacting an event from one's server."""
    if sender_level >= get_named_power_level("redact", auth_events):
        return
    redacts_domain = try_domain_of(event.redacts)
    if redacts_domain is not None and redacts_domain == try_domain_of(event.event_id):
        return
    raise AuthError("You don't have permission to redact that event")
