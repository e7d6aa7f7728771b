"""What a digest mail says (pure): the lines of each missed message, the
room titles and links, the subject and the summary."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import attrs

from homeserver.events.model import EventTypes

# The most characters of one message body a digest quotes.
MAX_BODY_CHARS = 1000

# What a digest says of message types that have no text to quote.
_MEDIA_LINES = {
    "m.image": "sent an image",
    "m.video": "sent a video",
    "m.audio": "sent an audio file",
    "m.file": "sent a file",
    "m.location": "shared a location",
}


@attrs.frozen(kw_only=True)
class DigestMessage:
    """One missed message as a digest shows it."""

    sender_id: str
    sender_name: str
    time: str
    body: str
    encrypted: bool


@attrs.frozen(kw_only=True)
class RoomDigest:
    """The missed messages of one room."""

    room_id: str
    title: str
    link: str
    messages: tuple[DigestMessage, ...]


def message_line(
    *, event_type: str, content: Any, sender_id: str, sender_name: str, ts: int
) -> DigestMessage:
    """The digest line of one event; an encrypted event says so, never more."""
    encrypted = event_type == "m.room.encrypted"
    body = (
        ""
        if encrypted
        else _body(event_type, content if isinstance(content, dict) else {})
    )
    return DigestMessage(
        sender_id=sender_id,
        sender_name=sender_name,
        time=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts / 1000)),
        body=body,
        encrypted=encrypted,
    )


def _body(event_type: str, content: dict[str, Any]) -> str:
    if event_type == EventTypes.MESSAGE:
        msgtype = content.get("msgtype")
        body = content.get("body")
        if msgtype in _MEDIA_LINES:
            return _MEDIA_LINES[str(msgtype)]
        if isinstance(body, str):
            text = body[:MAX_BODY_CHARS]
            return f"* {text}" if msgtype == "m.emote" else text
        return "sent a message"
    if event_type == "m.sticker":
        return "sent a sticker"
    if event_type == EventTypes.MEMBER:
        return "invited you" if content.get("membership") == "invite" else ""
    return f"sent an event ({event_type[:100]})"


def room_link(client_base_url: str | None, room_id: str) -> str:
    """A link that opens the room: in the configured web client, else through
    matrix.to (any client)."""
    quoted = quote(room_id, safe="!:")
    if client_base_url:
        return f"{client_base_url.rstrip('/')}/#/room/{quoted}"
    return f"https://matrix.to/#/{quoted}"


def room_title(
    *, name: str | None, alias: str | None, others: Sequence[str], room_id: str
) -> str:
    """A room's title as clients compute it: its name, else its alias, else
    the names of the other members (spec "Calculating the display name for a
    room")."""
    if name:
        return name
    if alias:
        return alias
    if not others:
        return "an empty room"
    if len(others) == 1:
        return others[0]
    if len(others) == 2:
        return f"{others[0]} and {others[1]}"
    return f"{others[0]} and {len(others) - 1} others"


def subject_and_summary(app_name: str, rooms: Sequence[RoomDigest]) -> tuple[str, str]:
    """The subject line and the opening sentence of a digest."""
    count = sum(len(room.messages) for room in rooms)
    messages = "1 unread message" if count == 1 else f"{count} unread messages"
    senders = {m.sender_name for room in rooms for m in room.messages}
    where = rooms[0].title
    if len(rooms) > 1:
        where += f" and {len(rooms) - 1} other room" + ("s" if len(rooms) > 2 else "")
    if len(rooms) == 1 and len(senders) == 1:
        summary = f"You have {messages} from {next(iter(senders))} in {where}."
    else:
        summary = f"You have {messages} in {where}."
    return f"[{app_name}] {summary.removesuffix('.')}", summary
