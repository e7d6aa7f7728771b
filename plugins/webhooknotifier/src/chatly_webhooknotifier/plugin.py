"""The plugin class: ``chatly_on_new_event`` -> one delivery per matching
target, POSTed through the server's guarded HTTP client
(``PluginAPI.http_request``: denied addresses are never connected to, see
``plugins.ip_range_blacklist``), retried with a doubling backoff up to
``max_attempts``. Deliveries wait in memory only: one still being retried
when the server stops is dropped (logged).

The body is ``{"event": <the event, client format>, "local": bool,
"target": <index of the target>}`` as compact UTF-8 JSON.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chatly_webhooknotifier.config import NotifierConfig, Target
from chatly_webhooknotifier.signing import (
    DELIVERY_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    sign,
)
from homeserver.plugins import hookimpl
from homeserver.plugins.api import PluginHttpError


class WebhookNotifier:
    """The webhook notifier (plugins/webhooknotifier/README.md)."""

    CONFIG = NotifierConfig

    def __init__(self, api: Any, config: NotifierConfig | None) -> None:
        self.api = api
        self.config = config or NotifierConfig()
        self.delivered = 0
        self.dropped = 0

    @hookimpl
    def chatly_on_new_event(self, event: dict[str, Any], local: bool) -> None:
        for index, target in enumerate(self.config.targets):
            if target.wants(event, local):
                body = json.dumps(
                    {"event": event, "local": local, "target": index},
                    ensure_ascii=False,
                    separators=(",", ":"),
                ).encode("utf-8")
                self.api.run_in_background(
                    self._attempt,
                    target,
                    event.get("event_id", ""),
                    body,
                    1,
                    name="webhook",
                )

    async def _attempt(
        self, target: Target, event_id: str, body: bytes, attempt: int
    ) -> None:
        delivery = hashlib.sha256(f"{target.url}\n{event_id}".encode()).hexdigest()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(target.secret, body),
            EVENT_ID_HEADER: event_id,
            DELIVERY_HEADER: delivery[:32],
        }
        try:
            response = await self.api.http_request(
                "POST", target.url, body=body, headers=headers
            )
            failure = None if 200 <= response.code < 300 else f"HTTP {response.code}"
        except PluginHttpError as exc:
            failure = str(exc)
        if failure is None:
            self.delivered += 1
            return
        if attempt >= self.config.max_attempts:
            self.dropped += 1
            self.api.logger.warning(
                "webhook %s: event %s dropped after %d attempts: %s",
                target.url,
                event_id,
                attempt,
                failure,
            )
            return
        wait = self.config.backoff(attempt)
        self.api.logger.info(
            "webhook %s: event %s attempt %d failed (%s); retry in %gs",
            target.url,
            event_id,
            attempt,
            failure,
            wait,
        )
        self.api.call_later(
            wait,
            self._attempt,
            target,
            event_id,
            body,
            attempt + 1,
            name="webhook retry",
        )
