"""Unsubscribe tokens (pure): which email pusher a link removes, signed with
an HMAC-SHA256 of a server secret so it cannot be guessed or altered.

A token is ``<payload>.<mac>``, both unpadded base64url; the payload is the
JSON list ``[user_id, app_id, pushkey]``. Tokens do not expire: an old mail's
link keeps working (unsubscribing twice is harmless).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

import attrs

_LABEL = b"chatly email unsubscribe v1"


@attrs.frozen(kw_only=True)
class PusherKey:
    """What identifies a pusher (spec: app_id and pushkey, per user)."""

    user_id: str
    app_id: str
    pushkey: str


def derive_secret(signing_key_seed: bytes) -> bytes:
    """The HMAC key when none is configured: derived from the signing key
    (never the key itself), so it is stable across restarts."""
    return hmac.new(signing_key_seed, _LABEL, hashlib.sha256).digest()


class UnsubscribeSigner:
    """Makes and checks unsubscribe tokens."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def token_for(self, key: PusherKey) -> str:
        """The token of ``key``'s unsubscribe link."""
        payload = json.dumps(
            [key.user_id, key.app_id, key.pushkey], separators=(",", ":")
        ).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def verify(self, token: str) -> PusherKey | None:
        """The pusher a token names, or None when it is malformed or forged."""
        encoded, _, mac = token.partition(".")
        try:
            payload = _unb64(encoded)
            given = _unb64(mac)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(given, self._mac(payload)):
            return None
        try:
            user_id, app_id, pushkey = json.loads(payload)
        except ValueError:
            return None
        if not all(isinstance(v, str) for v in (user_id, app_id, pushkey)):
            return None
        return PusherKey(user_id=user_id, app_id=app_id, pushkey=pushkey)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, _LABEL + b"\0" + payload, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or not text.isascii():
        raise ValueError("empty")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
