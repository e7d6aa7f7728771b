"""The gateway's settings: one entry per app ID under ``apps``, each naming
exactly one back end (``webpush``, ``fcm``, ``apns`` or ``custom``) with its
own typed settings. In process they are the plugin's ``config``; the
stand-alone gateway reads the same ``apps`` from its YAML file.

Secrets (``vapid_private_key``, ``service_account``, ``key``) may be given
inline or, with a ``_path`` suffix, as a file to read (relative paths from
the config file's directory). Keys are parsed at start-up, so a bad key
stops the server instead of failing on the first push.
"""

from __future__ import annotations

import importlib
import json
from typing import Any, Literal

import attrs
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

SECRET = {"secret": True}


def _check_url(value: str, what: str) -> None:
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"{what} must be an http:// or https:// URL")


@attrs.frozen(kw_only=True)
class WebPushConfig:
    """WebPush (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload
    encryption (RFC 8291), for browsers and UnifiedPush distributors.

    Attributes:
        vapid_private_key: the VAPID key pair's private key (PEM, P-256;
            ``vapid --gen`` of py-vapid writes one); or ``vapid_private_key_path``.
        vapid_contact: ``mailto:`` or ``https:`` contact for the push service
            operators (the JWT's ``sub``).
        ttl: seconds the push service keeps an undelivered message.
        allowed_endpoints: host globs endpoints must match (empty: any host the
            outbound address rules allow), e.g. ``*.push.services.mozilla.com``.
        max_body_bytes: the message body is cut to this (the encrypted payload
            may not exceed 4 KiB).
    """

    vapid_private_key: str = attrs.field(metadata=SECRET)
    vapid_contact: str
    ttl: int = 900
    allowed_endpoints: list[str] = attrs.field(factory=list)
    max_body_bytes: int = 1000

    def __attrs_post_init__(self) -> None:
        if not self.vapid_contact.startswith(("mailto:", "https:")):
            raise ValueError("vapid_contact must start with mailto: or https:")
        if not 0 <= self.ttl <= 2_419_200:
            raise ValueError("ttl must be between 0 and 2419200 seconds")
        key = serialization.load_pem_private_key(self.vapid_private_key.encode(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            raise ValueError("vapid_private_key must be a P-256 (prime256v1) key")


@attrs.frozen(kw_only=True)
class FcmConfig:
    """Firebase Cloud Messaging, HTTP v1 API, with a service account.

    Attributes:
        service_account: the service account's JSON key file (from the Firebase
            console); or ``service_account_path``.
        project_id: the Firebase project (default: the key's ``project_id``).
        api_url: the FCM API's base URL.
        message_options: merged into every message (e.g. an ``android``
            ``notification`` block or ``apns`` headers), as Sygnal's
            ``fcm_options``.
    """

    service_account: str = attrs.field(metadata=SECRET)
    project_id: str | None = None
    api_url: str = "https://fcm.googleapis.com"
    message_options: dict[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        _check_url(self.api_url, "api_url")
        account = self.account
        for key in ("client_email", "private_key", "token_uri"):
            if not isinstance(account.get(key), str):
                raise ValueError(f"service_account has no {key}")
        _check_url(account["token_uri"], "service_account token_uri")
        serialization.load_pem_private_key(account["private_key"].encode(), None)
        if not (self.project_id or account.get("project_id")):
            raise ValueError("project_id is not set and not in service_account")

    @property
    def account(self) -> dict[str, Any]:
        """The parsed service account key."""
        try:
            parsed = json.loads(self.service_account)
        except ValueError:
            raise ValueError("service_account is not JSON") from None
        if not isinstance(parsed, dict):
            raise ValueError("service_account must be a JSON object")
        return parsed

    @property
    def project(self) -> str:
        return str(self.project_id or self.account["project_id"])


@attrs.frozen(kw_only=True)
class ApnsConfig:
    """Apple Push Notification service, token-based auth, HTTP/2.

    Attributes:
        key: the ``.p8`` signing key (PEM, from the Apple developer account);
            or ``key_path``.
        key_id: the key's 10-character ID (the JWT's ``kid``).
        team_id: the team ID (the JWT's ``iss``).
        topic: the app's bundle ID (``apns-topic``).
        platform: ``production`` (api.push.apple.com) or ``sandbox``
            (api.sandbox.push.apple.com: development builds).
        host: another APNs host (``host`` or ``host:port``), overriding
            ``platform`` (a proxy, or a test server).
        ca_file: a PEM file of certificates to trust for ``host`` instead of
            the system's (a test server's self-signed certificate); relative
            to the config file's directory, as the ``_path`` settings.
        push_type: ``alert`` or ``voip`` (the ``apns-push-type`` of
            notifications with an event; count-only updates are ``background``).
    """

    key: str = attrs.field(metadata=SECRET)
    key_id: str
    team_id: str
    topic: str
    platform: Literal["production", "sandbox"] = "production"
    host: str | None = None
    ca_file: str | None = attrs.field(default=None, metadata={"file": True})
    push_type: Literal["alert", "voip"] = "alert"

    def __attrs_post_init__(self) -> None:
        private = serialization.load_pem_private_key(self.key.encode(), None)
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise ValueError("key must be an APNs .p8 (P-256) key")
        # Fails here rather than on the first push if the key cannot sign ES256.
        jwt.encode({"iss": self.team_id}, private, algorithm="ES256")

    @property
    def address(self) -> tuple[str, int]:
        """The APNs host and port."""
        default = {
            "production": "api.push.apple.com",
            "sandbox": "api.sandbox.push.apple.com",
        }[self.platform]
        host, _, port = (self.host or default).partition(":")
        return host, int(port or 443)


@attrs.frozen(kw_only=True)
class CustomConfig:
    """Another back end: a ``Pushkin`` subclass of your own
    (docs/push.md, "Writing another back end").

    Attributes:
        backend: ``package.module:ClassName``.
        settings: its settings, given to its ``CONFIG`` class.
    """

    backend: str
    settings: dict[str, Any] = attrs.field(factory=dict)

    def load(self) -> tuple[type, Any]:
        """The class and its built settings.

        Raises:
            ValueError: it cannot be imported, or the settings are refused.
        """
        module_name, _, attr = self.backend.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"backend {self.backend!r}: {exc}") from None
        settings_cls = getattr(cls, "CONFIG", None)
        if settings_cls is None:
            return cls, dict(self.settings)
        try:
            return cls, settings_cls(**self.settings)
        except TypeError as exc:
            raise ValueError(f"settings: {exc}") from None


@attrs.frozen(kw_only=True)
class AppConfig:
    """One app ID: exactly one of its back ends is set."""

    webpush: WebPushConfig | None = None
    fcm: FcmConfig | None = None
    apns: ApnsConfig | None = None
    custom: CustomConfig | None = None

    def __attrs_post_init__(self) -> None:
        chosen = [k for k in ("webpush", "fcm", "apns", "custom") if getattr(self, k)]
        if len(chosen) != 1:
            raise ValueError(
                "set exactly one of webpush, fcm, apns, custom; got "
                + (", ".join(chosen) or "none")
            )
        if self.custom is not None:
            self.custom.load()


@attrs.frozen(kw_only=True)
class GatewayConfig:
    """The plugin's settings (``plugins.load[].config``).

    Attributes:
        apps: app ID -> its back end. A pusher whose ``app_id`` is listed is
            delivered by this plugin; others are left to the server.
    """

    apps: dict[str, AppConfig] = attrs.field(factory=dict)
