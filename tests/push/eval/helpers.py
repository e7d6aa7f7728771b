"""Unread counts and notifications through HTTP, for the push evaluation tests."""

from __future__ import annotations

from typing import Any

from tests.support import User

THREADED = {"room": {"timeline": {"unread_thread_notifications": True}}}


def counts(user: User, room_id: str, **params: Any) -> tuple[int, int]:
    """(notification_count, highlight_count) of a room in an initial /sync."""
    unread = user.sync(**params)["rooms"]["join"][room_id]["unread_notifications"]
    return unread["notification_count"], unread["highlight_count"]


def thread_counts(user: User, room_id: str) -> tuple[tuple[int, int], Any]:
    """The main timeline's counts and ``unread_thread_notifications``."""
    room = user.sync(filter=THREADED)["rooms"]["join"][room_id]
    main = room["unread_notifications"]
    return (
        (main["notification_count"], main["highlight_count"]),
        room["unread_thread_notifications"],
    )


def mention(user: User, room_id: str, text: str, *user_ids: str, **kw: Any) -> str:
    """A message with ``m.mentions`` of ``user_ids`` (and ``room`` if given)."""
    mentions: dict[str, Any] = {"user_ids": list(user_ids)}
    mentions.update(kw)
    return user.send(room_id, text, **{"m.mentions": mentions})


def read(user: User, room_id: str, event_id: str, **body: Any) -> None:
    """A read receipt (``thread_id`` in ``body`` for a threaded one)."""
    user.post(f"/rooms/{room_id}/receipt/m.read/{event_id}", body, expect=200)
