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
        memory: this extension's memory on this connection.
    """

    user_id: str
    device_id: str | None
    since: StreamToken | None
    upto: StreamToken
    list_rooms: Mapping[str, Sequence[str]]
    subscribed_rooms: Sequence[str]
    response_rooms: Sequence[str]
    memory: JsonDict | None


class SlidingExtension(Protocol):
    """An extension: ``compute`` answers (its response or None, its new
    memory or None to keep the old one)."""

    key: str

    async def compute(
        self, ctx: ExtensionContext, config: JsonDict
    ) -> tuple[JsonDict | None, JsonDict | None]: ...  # pragma: no cover
