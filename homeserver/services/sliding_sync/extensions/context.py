"""What an extension is given, and what it must provide (Contract B)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs

from homeserver.streams.tokens import StreamToken
from homeserver.types import JsonDict


@attrs.frozen
class ExtensionContext:
    """One response's view for an extension.

    Args:
        since: the connection's previous position (None on the first request).
        list_rooms: list name -> room IDs in its range.
        subscribed_rooms: the room subscriptions the user has a membership in.
        response_rooms: room ID -> the room's entry in this response.
        memberships: room ID -> the user's membership, for every room of the
            user (what an extension checks before showing a room's data).
        memory: this extension's memory on this connection.
    """

    user_id: str
    device_id: str | None
    since: StreamToken | None
    upto: StreamToken
    list_rooms: Mapping[str, Sequence[str]]
    subscribed_rooms: Sequence[str]
    response_rooms: Mapping[str, JsonDict]
    memberships: Mapping[str, str]
    memory: JsonDict | None


@attrs.frozen
class ExtensionAnswer:
    """An extension's part of one response.

    Attributes:
        response: its section of ``extensions`` (None: left out).
        memory: its new memory on the connection (None: keep the old one).
        news: whether the section holds something that ends a long-poll (a
            section that only repeats, e.g. key counts, does not).
    """

    response: JsonDict | None
    memory: JsonDict | None = None
    news: bool = False


class SlidingExtension(Protocol):
    """An extension, known by its request key."""

    key: str

    def check(self, config: JsonDict) -> None:
        """Reject a malformed config (a Matrix error), before anything is done."""
        ...  # pragma: no cover

    async def compute(
        self, ctx: ExtensionContext, config: JsonDict
    ) -> ExtensionAnswer: ...  # pragma: no cover
