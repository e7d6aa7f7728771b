"""Outgoing webhooks: a room's messages POSTed as JSON to a URL.

The body is ``{"room_id", "event_id", "sender", "origin_server_ts", "type",
"content"}``; ``X-Chatly-Signature: sha256=<hex HMAC-SHA256 of the body with
the hook's secret>`` lets the receiver check it. A failed delivery (connection
error, 5xx or 429) is retried with backoff (1 s, doubling) up to
``max_attempts``; a 4xx is final. Deliveries to one URL go out in order.
Retries are held in memory: a delivery pending when the bridge stops is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import treq
from twisted.internet.defer import DeferredLock
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater

from chatly_webhooks_bridge.config import OutgoingHook

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Chatly-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(event: dict[str, Any]) -> bytes:
    keys = ("room_id", "event_id", "sender", "origin_server_ts", "type", "content")
    return json.dumps({k: event.get(k) for k in keys}, sort_keys=True).encode()


class OutgoingSender:
    """Delivers events to the outgoing hooks of their rooms."""

    def __init__(
        self, reactor: IReactorTime, hooks: tuple[OutgoingHook, ...], max_attempts: int
    ) -> None:
        self._reactor = reactor
        self._hooks = hooks
        self._max_attempts = max_attempts
        self._locks: dict[str, DeferredLock] = {}

    def dispatch(self, event: dict[str, Any]) -> None:
        for hook in self._hooks:
            if hook.room == event.get("room_id"):
                lock = self._locks.setdefault(hook.url, DeferredLock())
                lock.run(self._deliver, hook, event)

    async def _deliver(self, hook: OutgoingHook, event: dict[str, Any]) -> None:
        body = payload(event)
        headers: dict[bytes | str, bytes | str] = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(hook.secret, body),
            "X-Chatly-Event-Id": str(event.get("event_id")),
        }
        delay = 1.0
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = await treq.post(
                    hook.url, data=body, headers=headers, timeout=30
                )
                await response.content()
                if 200 <= response.code < 300:
                    return
                if 400 <= response.code < 500 and response.code != 429:
                    logger.warning("Outgoing webhook refused: %s", response.code)
                    return
                logger.warning("Outgoing webhook failed: %s", response.code)
            except Exception as exc:
                logger.warning("Outgoing webhook failed: %s", exc)
            if attempt < self._max_attempts:
                await deferLater(self._reactor, delay, lambda: None)
                delay *= 2
        logger.warning(
            "Outgoing webhook given up after %s attempts", self._max_attempts
        )
