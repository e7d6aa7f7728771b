"""Auth events selection, and the rules about an event's own ``auth_events``.

Spec: server-server-api "Auth events selection"; rooms/v1 to v11 rule 2 and
rooms/v12 rule 3 ("Considering the event's auth_events"). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from homeserver.events.auth_common import CREATE_KEY, AuthError
from homeserver.events.auth_membership import AUTHORISING_USER
from homeserver.events.model import Event, EventTypes, Membership, StateKey
from homeserver.events.room_versions import RoomVersion
from homeserver.types import JsonDict


def auth_types_for_event(
    room_version: RoomVersion,
    event_type: str,
    state_key: str | None,
    sender: str,
    content: JsonDict,
) -> list[StateKey]:
    """The ``(type, state_key)`` pairs an event's ``auth_events`` may cite.

    Args:
        room_version: the room's version.
        event_type: the event's type.
        state_key: its state key (None for non-state events).
        sender: its sender.
        content: its content.

    Returns:
        In order: the create event (not in v12+), the power levels, the
        sender's membership; for membership events also the target's
        membership, the join rules (join, invite, knock), the third-party
        invite named by ``third_party_invite.signed.token`` (invites), and the
        authorising user's membership (v8+ joins with
        ``join_authorised_via_users_server``). Each pair at most once; it is
        a superset of what the auth rules will read.
    """
    if event_type == EventTypes.CREATE:
        return []
    wanted: list[StateKey] = []
    if not room_version.room_id_is_create_hash:
        wanted.append(CREATE_KEY)
    wanted.append((EventTypes.POWER_LEVELS, ""))
    wanted.append((EventTypes.MEMBER, sender))
    if event_type == EventTypes.MEMBER:
        membership = content.get("membership")
        if state_key is not None:
            wanted.append((EventTypes.MEMBER, state_key))
        if membership in (Membership.JOIN, Membership.INVITE, Membership.KNOCK):
            wanted.append((EventTypes.JOIN_RULES, ""))
        if membership == Membership.INVITE and "third_party_invite" in content:
            token = _third_party_invite_token(content)
            if token is not None:
                wanted.append((EventTypes.THIRD_PARTY_INVITE, token))
        if room_version.restricted_join_rule and membership == Membership.JOIN:
            authoriser = content.get(AUTHORISING_USER)
            if isinstance(authoriser, str):
                wanted.append((EventTypes.MEMBER, authoriser))
    return list(dict.fromkeys(wanted))


def _third_party_invite_token(content: JsonDict) -> str | None:
    invite = content.get("third_party_invite")
    signed = invite.get("signed") if isinstance(invite, dict) else None
    token = signed.get("token") if isinstance(signed, dict) else None
    return token if isinstance(token, str) else None


def check_auth_events_list(event: Event, auth_event_list: Sequence[Event]) -> None:
    """Check the event's own ``auth_events`` (rule 2, or rule 3 in v12).

    Args:
        event: the event being authorized.
        auth_event_list: the events its ``auth_events`` name, fetched (rejected
            ones included, with ``rejected_reason`` set).

    Raises:
        AuthError: an ID is listed twice or not supplied (or an event is
            supplied that is not listed); two entries share a
            ``(type, state_key)``; an entry is not one the selection algorithm
            picks; an entry was rejected; an entry is from another room; or
            (v1-v11) no create event is listed, (v12) a create event is.
    """
    if event.type == EventTypes.CREATE:
        return  # the rules for m.room.create stop at rule 1
    _check_ids_match(event, auth_event_list)
    version = event.room_version
    expected = set(
        auth_types_for_event(
            version, event.type, event.state_key, event.sender, event.content
        )
    )
    seen: dict[StateKey, str] = {}
    for auth_event in auth_event_list:
        if auth_event.room_id != event.room_id:
            raise AuthError(
                f"Auth event {auth_event.event_id} is in another room "
                f"({auth_event.room_id})"
            )
        if not auth_event.is_state() or auth_event.state_key is None:
            raise AuthError(f"Auth event {auth_event.event_id} is not a state event")
        key = auth_event.state_tuple
        if key in seen:
            raise AuthError(
                f"Duplicate auth events for {key}: {seen[key]} and "
                f"{auth_event.event_id}"
            )
        seen[key] = auth_event.event_id
        if key == CREATE_KEY and version.room_id_is_create_hash:
            raise AuthError("The create event must not be listed in auth_events")
        if key not in expected:
            raise AuthError(
                f"Auth event {auth_event.event_id} for {key} is not one the "
                "auth events selection algorithm picks"
            )
        if auth_event.rejected_reason is not None:
            raise AuthError(f"Auth event {auth_event.event_id} was rejected")
    if not version.room_id_is_create_hash and CREATE_KEY not in seen:
        raise AuthError("No create event in auth_events")


def _check_ids_match(event: Event, auth_event_list: Sequence[Event]) -> None:
    listed = event.auth_event_ids
    if len(set(listed)) != len(listed):
        raise AuthError("auth_events lists the same event twice")
    supplied = [auth_event.event_id for auth_event in auth_event_list]
    if sorted(supplied) != sorted(listed):
        raise AuthError("The supplied auth events are not those the event lists")
