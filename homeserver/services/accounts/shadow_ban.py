"""What a shadow-banned user is told (Synapse's ShadowBanError answers):
their messages, state events, redactions, invites and typing look done but
reach nobody. An admin sets the flag (``POST /_synapse/admin/v1/users/
{userId}/shadow_ban``); the access-token lookup puts it on the Requester."""

from __future__ import annotations

from homeserver.util.tokens import random_string


def fake_event_id() -> str:
    """An event ID of the shape of a room version 4+ ID, of no event."""
    return "$" + random_string(43)
