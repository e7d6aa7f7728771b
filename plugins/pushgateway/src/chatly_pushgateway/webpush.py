"""WebPush back end: RFC 8030 delivery, RFC 8291 ``aes128gcm`` payload
encryption (``http_ece``) and RFC 8292 VAPID authentication (``py_vapid``),
for browsers and UnifiedPush distributors.

Two pusher shapes are accepted:

- Sygnal's (what Element Web sends): ``pushkey`` is the subscription's
  ``p256dh`` key, ``data`` has ``endpoint`` and ``auth``;
- endpoint-keyed (UnifiedPush style): ``pushkey`` is the endpoint URL,
  ``data`` has ``p256dh`` and ``auth``.

The push service answering 404 or 410 means the subscription is gone: the
pushkey is rejected. Other 4xx are logged and dropped; 429 and 5xx are
temporary.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

import http_ece
import py_vapid
from cryptography.hazmat.primitives.asymmetric import ec

from chatly_pushgateway.config import WebPushConfig
from chatly_pushgateway.model import Device, Notification, truncate_utf8
from chatly_pushgateway.pushkin import (
    Pushkin,
    PushkinContext,
    TemporaryFailure,
    TransportError,
)

VAPID_LIFETIME_S = 12 * 3600
"""The JWT's ``exp``: RFC 8292 allows at most 24 hours."""

_PAYLOAD_KEYS = (
    "room_id",
    "room_name",
    "room_alias",
    "membership",
    "event_id",
    "sender",
    "sender_display_name",
    "user_is_target",
    "type",
)


def b64url_decode(value: str) -> bytes:
    """Base64url with or without padding (browsers send it without)."""
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def build_payload(n: Notification, device: Device, max_body: int) -> dict[str, Any]:
    """The JSON the browser's service worker gets (Sygnal's shape: the
    notification's keys, counts flattened, ``default_payload`` merged in)."""
    payload: dict[str, Any] = {}
    default = device.data.get("default_payload")
    if isinstance(default, dict):
        payload.update(default)
    for key in _PAYLOAD_KEYS:
        value = getattr(n, key)
        if value:
            payload[key] = value
    if n.counts.unread is not None:
        payload["unread"] = n.counts.unread
    if n.counts.missed_calls is not None:
        payload["missed_calls"] = n.counts.missed_calls
    if n.content is not None:
        content = dict(n.content)
        content.pop("formatted_body", None)
        if isinstance(content.get("body"), str):
            content["body"] = truncate_utf8(content["body"], max_body)
        if len(str(content.get("ciphertext", ""))) > 2000:
            content.pop("ciphertext")
        payload["content"] = content
    return payload


class WebPushPushkin(Pushkin):
    """Delivers to a browser's or distributor's WebPush endpoint."""

    CONFIG = WebPushConfig
    config: WebPushConfig

    def __init__(
        self, app_id: str, config: WebPushConfig, context: PushkinContext
    ) -> None:
        super().__init__(app_id, config, context)
        self.vapid = py_vapid.Vapid02.from_pem(config.vapid_private_key.encode())

    def subscription(self, device: Device) -> tuple[str, str, str] | None:
        """``(endpoint, p256dh, auth)`` of either pusher shape, or None."""
        data = device.data
        endpoint: Any
        p256dh: Any
        if device.pushkey.startswith(("https://", "http://")):
            endpoint, p256dh = device.pushkey, data.get("p256dh")
        else:
            endpoint, p256dh = data.get("endpoint"), device.pushkey
        auth = data.get("auth")
        if not all(isinstance(v, str) and v for v in (endpoint, p256dh, auth)):
            return None
        return str(endpoint), str(p256dh), str(auth)

    def _allowed(self, endpoint: str) -> bool:
        patterns = self.config.allowed_endpoints
        host = urlsplit(endpoint).hostname or ""
        return not patterns or any(fnmatch.fnmatch(host, p) for p in patterns)

    def encrypt(self, payload: bytes, p256dh: str, auth: str) -> bytes:
        """RFC 8291: ``aes128gcm`` with a fresh server key and salt."""
        return bytes(
            http_ece.encrypt(
                payload,
                private_key=ec.generate_private_key(ec.SECP256R1()),
                dh=b64url_decode(p256dh),
                auth_secret=b64url_decode(auth),
                version="aes128gcm",
            )
        )

    def vapid_header(self, endpoint: str) -> str:
        """RFC 8292 ``Authorization: vapid t=<JWT>, k=<public key>``."""
        parts = urlsplit(endpoint)
        claims = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(self.context.now()) + VAPID_LIFETIME_S,
            "sub": self.config.vapid_contact,
        }
        return str(self.vapid.sign(claims)["Authorization"])

    async def dispatch(self, notification: Notification, device: Device) -> list[str]:
        if device.data.get("events_only") is True and not notification.event_id:
            return []
        found = self.subscription(device)
        if found is None:
            self.log.warning("webpush: incomplete subscription; pushkey rejected")
            return [device.pushkey]
        endpoint, p256dh, auth = found
        if not self._allowed(endpoint):
            self.log.warning("webpush: endpoint host not in allowed_endpoints")
            return []
        payload = build_payload(notification, device, self.config.max_body_bytes)
        try:
            body = self.encrypt(json.dumps(payload).encode(), p256dh, auth)
        except (ValueError, TypeError):
            self.log.warning("webpush: unusable p256dh/auth keys; pushkey rejected")
            return [device.pushkey]
        headers = {
            "Authorization": self.vapid_header(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self.config.ttl),
            "Urgency": "low" if notification.prio == "low" else "normal",
        }
        if notification.room_id and device.data.get("only_last_per_room") is True:
            digest = hashlib.blake2s(notification.room_id.encode(), digest_size=24)
            headers["Topic"] = base64.urlsafe_b64encode(digest.digest()).decode()
        try:
            response = await self.context.http(
                "POST", endpoint, body=body, headers=headers
            )
        except TransportError as exc:
            raise TemporaryFailure(f"webpush: {exc}") from None
        return self._outcome(response.code, device.pushkey)

    def _outcome(self, code: int, pushkey: str) -> list[str]:
        if code in (404, 410):
            self.log.info("webpush: subscription gone (%d); pushkey rejected", code)
            return [pushkey]
        if code == 429 or code >= 500:
            raise TemporaryFailure(f"webpush: push service answered {code}")
        if code >= 400:
            self.log.warning("webpush: push service refused the message: %d", code)
        return []
