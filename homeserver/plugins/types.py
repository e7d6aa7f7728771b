"""The plain values hooks receive and return (docs/plugins.md, "Hooks").

They are part of the stable plugin surface, like the hook specs and the
``PluginAPI`` facade: frozen attrs classes and plain JSON dicts, never the
server's internal objects.
"""

from __future__ import annotations

import copy
from typing import Any

import attrs

JsonDict = dict[str, Any]


@attrs.frozen(kw_only=True)
class Deny:
    """A hook's refusal, sent to the client as a Matrix error.

    Attributes:
        error: the human-readable ``error`` of the response.
        errcode: the Matrix error code (``M_FORBIDDEN`` by default).
        status: the HTTP status (403 by default; 400-499).
    """

    error: str = "Refused by a server plugin"
    errcode: str = "M_FORBIDDEN"
    status: int = attrs.field(default=403)

    @status.validator
    def _client_error(self, _attribute: attrs.Attribute, value: int) -> None:
        if not 400 <= value <= 499:
            raise ValueError(f"status must be a 4xx status, got {value}")


@attrs.frozen(kw_only=True)
class EventDraft:
    """An event a local user asked to send, before it is built and signed.

    A check hook may return ``draft.with_content({...})``: only the content of
    the returned draft is used; room, sender, type and state key are fixed.

    Attributes:
        room_id: the room.
        sender: the local user sending it.
        type: the event type.
        content: the content the client sent (a copy: changing it changes
            nothing, return ``with_content`` instead).
        state_key: None for a message, the state key of a state event.
        device_id: the sender's device, if known.
    """

    room_id: str
    sender: str
    type: str
    content: JsonDict
    state_key: str | None = None
    device_id: str | None = None

    def with_content(self, content: JsonDict) -> EventDraft:
        """A copy of this draft with ``content`` instead."""
        return attrs.evolve(self, content=copy.deepcopy(content))


@attrs.frozen(kw_only=True)
class RegistrationAttempt:
    """A request to register an account.

    Attributes:
        localpart: the requested user name (lower-cased), or None when the
            server will pick one.
        client_ip: the address of the client.
        guest: a guest account (no password, no user name).
    """

    localpart: str | None
    client_ip: str
    guest: bool = False


@attrs.frozen(kw_only=True)
class RoomCreationAttempt:
    """A request to create a room.

    Attributes:
        creator: the local user creating it.
        preset: the requested preset (``private_chat``, ``public_chat``,
            ``trusted_private_chat``) or None.
        visibility: ``public`` (listed in the directory) or ``private``.
        name: the requested name, topic and alias local part, if any.
        invite: the users to invite.
        is_direct: a direct chat.
        room_version: the requested room version, or None for the default.
    """

    creator: str
    preset: str | None
    visibility: str
    name: str | None
    topic: str | None
    alias_localpart: str | None
    invite: tuple[str, ...]
    is_direct: bool
    room_version: str | None


@attrs.frozen(kw_only=True)
class LoginAttempt:
    """A POST /login with a login type a plugin advertised.

    Attributes:
        login_type: the ``type`` of the request.
        body: the whole request body (a copy).
        client_ip: the address of the client.
    """

    login_type: str
    body: JsonDict
    client_ip: str


@attrs.frozen(kw_only=True)
class PushDelivery:
    """One notification for one pusher (issue 14 wires the pushers to it).

    Attributes:
        user_id: the user the notification is for.
        app_id: the pusher's ``app_id``.
        pushkey: the pusher's ``pushkey``.
        kind: the pusher's ``kind`` (``http`` or another kind a plugin handles).
        data: the pusher's ``data`` (its ``url``, ``format``, ...).
        notification: the notification, in the push gateway API's
            ``notification`` shape (``event_id``, ``room_id``, ``type``,
            ``sender``, ``content``, ``counts``, ``devices``, ...).
    """

    user_id: str
    app_id: str
    pushkey: str
    kind: str
    data: JsonDict
    notification: JsonDict


@attrs.frozen(kw_only=True)
class PresenceUpdate:
    """A user's presence, as it now is.

    Attributes:
        user_id: the user (local or on another server).
        presence: ``online``, ``unavailable`` or ``offline``.
        status_msg: the status message, if any.
        currently_active: active within the last minute.
    """

    user_id: str
    presence: str
    status_msg: str | None
    currently_active: bool
