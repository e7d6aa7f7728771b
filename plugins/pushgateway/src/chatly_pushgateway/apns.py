"""APNs back end: Apple's provider API over HTTP/2 with token-based auth.

Auth: an ES256 JWT signed with the team's ``.p8`` key (header ``kid`` the key
ID, claims ``iss`` the team ID and ``iat``), reused for 50 minutes (Apple
refuses tokens older than an hour and too-frequent new ones) and made anew
at once if APNs answers ``ExpiredProviderToken``.

Request: ``POST /3/device/<pushkey>`` with ``authorization: bearer <JWT>``,
``apns-topic`` (the bundle ID), ``apns-push-type`` and ``apns-priority``:

- a notification with content: an ``alert`` (title: the room or the sender,
  body: the message), ``badge`` and ``sound``, type ``alert`` (or ``voip``),
  priority 10 (5 for ``prio: low``);
- ``format: event_id_only``: the pusher's ``default_payload`` (Element iOS
  puts its ``aps`` there) plus ``room_id``, ``event_id``, ``unread_count``;
  without an ``aps.alert`` there it is a ``content-available`` background
  push;
- a count update without an event: ``badge`` and ``content-available``,
  type ``background``, priority 5.

410, ``BadDeviceToken`` and ``Unregistered`` reject the pushkey.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jwt

from chatly_pushgateway.config import ApnsConfig
from chatly_pushgateway.http2 import Http2Client
from chatly_pushgateway.model import Device, Notification, truncate_utf8
from chatly_pushgateway.pushkin import (
    Pushkin,
    PushkinContext,
    TemporaryFailure,
    TransportError,
)

TOKEN_LIFETIME_S = 50 * 60
REJECTING_REASONS = frozenset({"BadDeviceToken", "Unregistered"})
MAX_BODY_BYTES = 1000


def _alert_body(n: Notification) -> str:
    content = n.content or {}
    body = content.get("body")
    if isinstance(body, str) and body:
        return truncate_utf8(body, MAX_BODY_BYTES)
    if n.type == "m.room.encrypted":
        return "Encrypted message"
    if n.type == "m.room.member" and n.membership == "invite":
        return "Invited you to a room"
    return "New message"


def build_payload(n: Notification, device: Device) -> tuple[dict[str, Any], bool]:
    """The APNs payload and whether it is a user-visible alert."""
    default = device.data.get("default_payload")
    payload: dict[str, Any] = (
        json.loads(json.dumps(default)) if isinstance(default, dict) else {}
    )
    aps: dict[str, Any] = payload.setdefault("aps", {})
    if n.counts.unread is not None:
        aps["badge"] = n.counts.unread
    if not n.event_id:
        aps["content-available"] = 1
        return payload, False
    payload["room_id"], payload["event_id"] = n.room_id, n.event_id
    if n.counts.unread is not None:
        payload["unread_count"] = n.counts.unread
    if n.counts.missed_calls is not None:
        payload["missed_calls"] = n.counts.missed_calls
    if n.event_id_only:
        if "alert" not in aps:
            aps["content-available"] = 1
        return payload, "alert" in aps
    sender = n.sender_display_name or n.sender or ""
    title = n.room_name or sender
    alert: dict[str, Any] = {"title": title, "body": _alert_body(n)}
    if n.room_name and sender:
        alert["subtitle"] = sender
    aps["alert"] = alert
    sound = device.tweaks.get("sound")
    if isinstance(sound, str):
        aps["sound"] = sound
    payload["sender"] = n.sender
    return payload, True


class ApnsPushkin(Pushkin):
    """Delivers to iOS apps through APNs."""

    CONFIG = ApnsConfig
    config: ApnsConfig

    def __init__(
        self, app_id: str, config: ApnsConfig, context: PushkinContext
    ) -> None:
        super().__init__(app_id, config, context)
        host, port = config.address
        ca = Path(config.ca_file).read_bytes() if config.ca_file else None
        self.client = Http2Client(
            context.reactor, host, port, ca_pem=ca, timeout_s=context.timeout_s
        )
        self._token: str | None = None
        self._issued_at = 0.0

    def provider_token(self) -> str:
        """The ES256 JWT, reused until it is 50 minutes old."""
        now = self.context.now()
        if self._token is None or now - self._issued_at >= TOKEN_LIFETIME_S:
            self._token = jwt.encode(
                {"iss": self.config.team_id, "iat": int(now)},
                self.config.key,
                algorithm="ES256",
                headers={"kid": self.config.key_id},
            )
            self._issued_at = now
        return self._token

    async def dispatch(self, notification: Notification, device: Device) -> list[str]:
        payload, alert = build_payload(notification, device)
        push_type = self.config.push_type if alert else "background"
        priority = "10" if alert and notification.prio != "low" else "5"
        body = json.dumps(payload, separators=(",", ":")).encode()
        path = "/3/device/" + quote(device.pushkey, safe="")
        for attempt in (1, 2):
            headers = {
                "authorization": f"bearer {self.provider_token()}",
                "apns-topic": self.config.topic,
                "apns-push-type": push_type,
                "apns-priority": priority,
                "content-type": "application/json",
            }
            try:
                response = await self.client.request("POST", path, headers, body)
            except TransportError as exc:
                raise TemporaryFailure(f"apns: {exc}") from None
            reason = _reason(response.body)
            if reason == "ExpiredProviderToken" and attempt == 1:
                self._token = None
                continue
            return self._outcome(response.code, reason, device.pushkey)
        raise TemporaryFailure("apns: provider token refused twice")

    def _outcome(self, code: int, reason: str | None, pushkey: str) -> list[str]:
        if code == 200:
            return []
        if code == 410 or reason in REJECTING_REASONS:
            self.log.info("apns: device token refused (%d %s); rejected", code, reason)
            return [pushkey]
        if code == 429 or code >= 500:
            raise TemporaryFailure(f"apns answered {code} {reason}")
        self.log.warning("apns refused the notification: %d %s", code, reason)
        return []

    async def close(self) -> None:
        self.client.close()


def _reason(body: bytes) -> str | None:
    try:
        reason = json.loads(body).get("reason")
    except (ValueError, AttributeError):
        return None
    return reason if isinstance(reason, str) else None
