"""The signature header: ``X-Chatly-Signature: sha256=<hex>``, the
HMAC-SHA256 of the raw request body under the target's secret.

A receiver verifies it by computing the same HMAC over the bytes it got
(before parsing the JSON) and comparing in constant time: ``verify`` below
does exactly that, and the README shows it without this package.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Chatly-Signature"
EVENT_ID_HEADER = "X-Chatly-Event-Id"
DELIVERY_HEADER = "X-Chatly-Delivery"
"""Unique per event and target, the same on every retry (for deduplication)."""


def sign(secret: str, body: bytes) -> str:
    """The value of the signature header for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the right signature of ``body``."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)
