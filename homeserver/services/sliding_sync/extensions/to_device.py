"""The ``to_device`` extension (MSC3885; MSC4538 where it is settled): the
device's to-device messages, paged by the extension's own ``since`` token
(those of ignored users dropped, as in /sync).

Request: ``{enabled, since?, limit?}``; response: ``{next_batch, events}``.
The client passes the last ``next_batch`` back as ``since``; that is its
acknowledgement, and only then are the messages up to it deleted, so a lost
response is simply sent again. At most ``MAX_LIMIT`` messages a response
(``limit`` lowers it); the rest follow in the next ones, which return at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from homeserver.errors import BadJson
from homeserver.services.sliding_sync.extensions.context import (
    ExtensionAnswer,
    ExtensionContext,
)
from homeserver.services.sliding_sync.extensions.scope import check_common
from homeserver.services.sync.sources import ToDeviceSource
from homeserver.streams.registry import TO_DEVICE
from homeserver.types import JsonDict
from homeserver.util.caches import LruCache

logger = logging.getLogger(__name__)

MAX_LIMIT = 100


def _since(config: JsonDict) -> int:
    value = config.get("since")
    if value is None:
        return 0
    if not isinstance(value, str) or not value.isdigit():
        raise BadJson("extensions.to_device.since must be a next_batch token")
    return int(value)


def _limit(config: JsonDict) -> int:
    value = config.get("limit", MAX_LIMIT)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadJson("extensions.to_device.limit must be an integer")
    return max(1, min(value, MAX_LIMIT))


class IgnoredUsers(Protocol):
    """Whom a user ignores (their to-device messages are dropped, as /sync
    drops them)."""

    async def ignored_users(self, user_id: str) -> frozenset[str]: ...


class ToDeviceExtension:
    """Reads and acknowledges the to_device stream of the request's device.

    Args:
        source: the /sync to-device source.
        personal: whom the user ignores.
    """

    key = "to_device"

    def __init__(self, source: ToDeviceSource, personal: IgnoredUsers) -> None:
        self.source = source
        self.personal = personal
        # The position each device's messages were last deleted up to: a
        # long-poll recomputing after each wake-up, or another connection of
        # the device, does not delete again.
        self._confirmed: LruCache[tuple[str, str], int] = LruCache(
            "ss_to_device_confirmed", 100_000
        )

    def check(self, config: JsonDict) -> None:
        check_common(self.key, config, per_room=False)
        _since(config)
        _limit(config)

    async def compute(self, ctx: ExtensionContext, config: JsonDict) -> ExtensionAnswer:
        upto = ctx.upto.get(TO_DEVICE.name)
        device_id = ctx.device_id
        if device_id is None:  # e.g. an application service without a device
            return ExtensionAnswer({"next_batch": str(upto), "events": []})
        since = _since(config)
        if since > upto:
            logger.warning("to_device since from the future", extra={"since": since})
            return ExtensionAnswer({"next_batch": str(since), "events": []})
        key = (ctx.user_id, device_id)
        if since > (self._confirmed.get(key) or 0):
            # The client has the messages up to ``since``: they can go.
            await self.source.delete_to_device_up_to(ctx.user_id, device_id, since)
            self._confirmed.set(key, since)
        events: list[JsonDict] = []
        reached = upto
        if since < upto:
            events, reached = await self.source.get_to_device(
                ctx.user_id, device_id, since, upto, _limit(config)
            )
        if events:
            # Ignored users' messages are dropped (and deleted with the rest
            # once acknowledged).
            ignored = await self.personal.ignored_users(ctx.user_id)
            if ignored:
                events = [e for e in events if e.get("sender") not in ignored]
        body = {"next_batch": str(reached), "events": events}
        return ExtensionAnswer(body, news=bool(events))


def carry_since(
    extensions: Mapping[str, JsonDict], body: JsonDict
) -> Mapping[str, JsonDict]:
    """The extension configs of the next request of a stream that goes on by
    itself (the WebSocket transport), as a client would send them: the
    ``to_device`` ``since`` becomes the ``next_batch`` of ``body``, the last
    response delivered, which so acknowledges its messages."""
    section = body.get("extensions", {}).get(ToDeviceExtension.key)
    if section is None:
        return extensions
    config = {**extensions[ToDeviceExtension.key], "since": section["next_batch"]}
    return {**extensions, ToDeviceExtension.key: config}
