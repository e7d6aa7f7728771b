"""Shared pieces of the authorization rules: the error and state lookups.

Spec: rooms/v1 to v12 "Authorization rules". IDs are taken apart by
``homeserver.events.ids``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeserver.events.model import Event, EventTypes, JoinRules, StateKey

AuthEvents = Mapping[StateKey, Event]
"""The auth state an event is checked against: ``(type, state_key) -> Event``."""

CREATE_KEY: StateKey = (EventTypes.CREATE, "")
POWER_LEVELS_KEY: StateKey = (EventTypes.POWER_LEVELS, "")
JOIN_RULES_KEY: StateKey = (EventTypes.JOIN_RULES, "")


class AuthError(Exception):
    """An event is not allowed by the authorization rules.

    Args:
        message: a human-readable reason, safe to show to the sender.
        errcode: the Matrix error code a client-facing caller should use.
    """

    def __init__(self, message: str, errcode: str = "M_FORBIDDEN") -> None:
        super().__init__(message)
        self.message = message
        self.errcode = errcode


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def room_creators(create_event: Event) -> set[str]:
    """The room's creators according to its ``m.room.create`` event.

    Rooms v1-v10 name one creator in ``content.creator``; v11 uses the create
    event's sender; v12 adds ``content.additional_creators``.

    Args:
        create_event: the room's create event.

    Returns:
        The creators' user IDs (empty if a pre-v11 event lacks a usable
        ``creator``; malformed ``additional_creators`` entries are skipped).
    """
    version = create_event.room_version
    if not version.implicit_room_creator:
        creator = create_event.content.get("creator")
        return {creator} if isinstance(creator, str) else set()
    creators = {create_event.sender}
    if version.additional_creators:
        extra = create_event.content.get("additional_creators")
        if isinstance(extra, list):
            creators.update(user for user in extra if isinstance(user, str))
    return creators


def membership_of(user_id: str, auth_events: AuthEvents) -> str | None:
    """The user's current membership (``join``, ``ban``...), or None if none."""
    member = auth_events.get((EventTypes.MEMBER, user_id))
    return member.membership if member is not None else None


def join_rule_of(auth_events: AuthEvents) -> str:
    """The room's join rule.

    A room with no ``m.room.join_rules`` event, or one without ``join_rule``,
    is treated as ``invite``, as Synapse does; the spec leaves the case open
    and both readings reject uninvited joins. A non-string value matches no
    rule (returned as ``""``), so every join is then rejected, as in Synapse.
    """
    event = auth_events.get(JOIN_RULES_KEY)
    if event is None:
        return JoinRules.INVITE
    rule = event.content.get("join_rule", JoinRules.INVITE)
    return rule if isinstance(rule, str) else ""
