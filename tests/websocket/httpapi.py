"""Plain HTTP calls for the WebSocket tests (stdlib only: safe in any process)."""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.error
import urllib.request
from typing import Any

JsonDict = dict[str, Any]


def http(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
) -> tuple[int, JsonDict]:
    """One request: (status, JSON body)."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(base_url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


async def ahttp(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
) -> tuple[int, JsonDict]:
    """``http`` without blocking the event loop."""
    return await asyncio.to_thread(http, base_url, method, path, body, token)


def register(base_url: str, name: str) -> tuple[str, str]:
    """Register a new user named ``name`` plus a random suffix (tests share a
    server); returns (user ID, access token)."""
    status, body = http(
        base_url,
        "POST",
        "/_matrix/client/v3/register",
        {
            "username": f"{name}-{secrets.token_hex(3)}",
            "password": f"{name} long password",
            "auth": {"type": "m.login.dummy"},
        },
    )
    assert status == 200, body
    return body["user_id"], body["access_token"]
