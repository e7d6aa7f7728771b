"""``POST /_matrix/push/v1/notify`` (spec "Push Gateway API"), one handler
for both hosts: the plugin's route and the stand-alone gateway.

Answers ``200 {"rejected": [...]}``; ``400 M_NOT_JSON`` / ``M_BAD_JSON`` for a
body that is not a notification; ``502`` when no device could be reached now
(the homeserver retries the request later, as it does for any failure).
"""

from __future__ import annotations

import json
from typing import Any

from chatly_pushgateway.gateway import Gateway
from chatly_pushgateway.model import BadNotification, parse_notify_body
from chatly_pushgateway.pushkin import TemporaryFailure

PATH = "/_matrix/push/v1/notify"


def _error(errcode: str, message: str) -> dict[str, Any]:
    return {"errcode": errcode, "error": message}


async def handle_notify(gateway: Gateway, body: bytes) -> tuple[int, dict[str, Any]]:
    """The status and JSON answer to one notify request."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return 400, _error("M_NOT_JSON", "Content not JSON.")
    try:
        notification = parse_notify_body(parsed)
    except BadNotification as exc:
        return 400, _error("M_BAD_JSON", str(exc))
    try:
        rejected = await gateway.notify(notification)
    except TemporaryFailure as exc:
        return 502, _error("M_UNKNOWN", f"Push service unavailable: {exc}")
    return 200, {"rejected": rejected}
