"""FCM back end: Firebase Cloud Messaging's HTTP v1 API with service-account
auth.

Auth (Google's "OAuth 2.0 for server to server applications"): a JWT signed
RS256 with the service account's private key (``iss`` the account's
``client_email``, ``scope`` firebase.messaging, ``aud`` its ``token_uri``,
one hour) is exchanged at ``token_uri`` (``grant_type`` jwt-bearer) for an
access token, cached until a minute before it expires.

The message (``POST {api_url}/v1/projects/{project}/messages:send``) is
``{"message": {"token": pushkey, "data": {...strings...}, "android":
{"priority": ...}, "apns": {"headers": {"apns-priority": ...}}}}``, the data
as Sygnal's v1 shape (content keys flattened to ``content_<key>``, counts as
strings). ``UNREGISTERED`` or a 404 rejects the pushkey.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import jwt
from twisted.internet.defer import DeferredLock

from chatly_pushgateway.config import FcmConfig
from chatly_pushgateway.model import Device, Notification, truncate_utf8
from chatly_pushgateway.pushkin import (
    Pushkin,
    PushkinContext,
    TemporaryFailure,
    TransportError,
)

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_S = 3600
REFRESH_MARGIN_S = 60
MAX_FIELD_BYTES = 1024

_DATA_KEYS = (
    "event_id",
    "type",
    "sender",
    "room_name",
    "room_alias",
    "membership",
    "sender_display_name",
    "room_id",
)


def build_data(n: Notification, device: Device) -> dict[str, str]:
    """The message's ``data``: FCM v1 takes strings only."""
    data: dict[str, str] = {}
    default = device.data.get("default_payload")
    if isinstance(default, dict):
        data.update({str(k): _string(v) for k, v in default.items()})
    for key in _DATA_KEYS:
        value = getattr(n, key)
        if value is not None:
            data[key] = truncate_utf8(str(value), MAX_FIELD_BYTES)
    for key, value in (n.content or {}).items():
        if isinstance(value, str):
            data[f"content_{key}"] = truncate_utf8(value, MAX_FIELD_BYTES)
    data["prio"] = "normal" if n.prio == "low" else "high"
    if n.counts.unread is not None:
        data["unread"] = str(n.counts.unread)
    if n.counts.missed_calls is not None:
        data["missed_calls"] = str(n.counts.missed_calls)
    return data


def _string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def build_message(
    n: Notification, device: Device, options: dict[str, Any]
) -> dict[str, Any]:
    """The whole ``messages:send`` body."""
    message: dict[str, Any] = json.loads(json.dumps(options))
    message["token"] = device.pushkey
    message["data"] = build_data(n, device)
    android = message.setdefault("android", {})
    android["priority"] = "normal" if n.prio == "low" else "high"
    apns = message.setdefault("apns", {})
    apns.setdefault("headers", {})["apns-priority"] = "5" if n.prio == "low" else "10"
    return {"message": message}


class FcmPushkin(Pushkin):
    """Delivers to Android (and iOS through Firebase) apps by FCM v1."""

    CONFIG = FcmConfig
    config: FcmConfig

    def __init__(self, app_id: str, config: FcmConfig, context: PushkinContext) -> None:
        super().__init__(app_id, config, context)
        self.account = config.account
        self.send_url = (
            f"{config.api_url.rstrip('/')}/v1/projects/{config.project}/messages:send"
        )
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = DeferredLock()

    def assertion(self) -> str:
        """The signed JWT exchanged for an access token."""
        now = int(self.context.now())
        claims = {
            "iss": self.account["client_email"],
            "scope": SCOPE,
            "aud": self.account["token_uri"],
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
        }
        kid = self.account.get("private_key_id")
        headers = {"kid": kid} if isinstance(kid, str) else None
        return jwt.encode(
            claims, self.account["private_key"], algorithm="RS256", headers=headers
        )

    async def access_token(self) -> str:
        """A cached access token, fetched again shortly before it expires."""
        async with self._lock:
            if self._token is None or self.context.now() >= self._expires_at:
                await self._fetch_token()
            assert self._token is not None
            return self._token

    async def _fetch_token(self) -> None:
        body = urlencode({"grant_type": GRANT_TYPE, "assertion": self.assertion()})
        try:
            response = await self.context.http(
                "POST",
                self.account["token_uri"],
                body=body.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except TransportError as exc:
            raise TemporaryFailure(f"fcm token: {exc}") from None
        if response.code != 200:
            raise TemporaryFailure(f"fcm token endpoint answered {response.code}")
        try:
            answer = json.loads(response.body)
            token, lifetime = answer["access_token"], int(answer["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise TemporaryFailure("fcm token endpoint answered nonsense") from None
        self._token = str(token)
        self._expires_at = self.context.now() + lifetime - REFRESH_MARGIN_S

    async def dispatch(self, notification: Notification, device: Device) -> list[str]:
        message = build_message(notification, device, self.config.message_options)
        for attempt in (1, 2):
            headers = {
                "Authorization": f"Bearer {await self.access_token()}",
                "Content-Type": "application/json; charset=UTF-8",
            }
            try:
                response = await self.context.http(
                    "POST",
                    self.send_url,
                    body=json.dumps(message).encode(),
                    headers=headers,
                )
            except TransportError as exc:
                raise TemporaryFailure(f"fcm: {exc}") from None
            if response.code == 401 and attempt == 1:
                self._token = None  # revoked or expired early: one fresh try
                continue
            return self._outcome(response.code, response.body, device.pushkey)
        raise TemporaryFailure("fcm: access token refused twice")

    def _outcome(self, code: int, body: bytes, pushkey: str) -> list[str]:
        if 200 <= code < 300:
            return []
        if code == 404 or _error_code(body) == "UNREGISTERED":
            self.log.info("fcm: token unregistered (%d); pushkey rejected", code)
            return [pushkey]
        if code == 429 or code >= 500:
            raise TemporaryFailure(f"fcm answered {code}")
        self.log.warning("fcm refused the message: %d %s", code, _error_code(body))
        return []


def _error_code(body: bytes) -> str | None:
    """The FCM ``errorCode`` of an error answer (``UNREGISTERED``,
    ``INVALID_ARGUMENT``...), from ``error.details`` or ``error.status``."""
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return None
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and isinstance(detail.get("errorCode"), str):
            return str(detail["errorCode"])
    status = error.get("status")
    return status if isinstance(status, str) else None
