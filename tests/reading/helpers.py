"""Helpers for the read-path tests: paginate, look up events, build rooms."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.support.server import FakeResponse, TestServer
from tests.rooms.helpers import CLIENT, send

V1 = "/_matrix/client/v1"


def get(server: TestServer, token: str, path: str, **query: Any) -> FakeResponse:
    """GET ``CLIENT + path`` with query parameters (dicts become JSON)."""
    params = []
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            value = json.dumps(value)
        params.append(f"{key}={quote(str(value), safe='')}")
    suffix = ("?" + "&".join(params)) if params else ""
    prefix = "" if path.startswith("/_matrix") else CLIENT
    return server.request("GET", f"{prefix}{path}{suffix}", token=token)


def messages(
    server: TestServer, token: str, room_id: str, **query: Any
) -> FakeResponse:
    query.setdefault("dir", "b")
    return get(server, token, f"/rooms/{room_id}/messages", **query)


def paginate_all(
    server: TestServer,
    token: str,
    room_id: str,
    direction: str = "b",
    limit: int = 5,
    **query: Any,
) -> list[dict[str, Any]]:
    """Every event /messages returns from the default start, page by page."""
    events: list[dict[str, Any]] = []
    from_token = None
    for _ in range(200):
        resp = messages(
            server,
            token,
            room_id,
            dir=direction,
            limit=limit,
            **{"from": from_token},
            **query,
        )
        assert resp.code == 200, resp.json
        events.extend(resp.json["chunk"])
        if "end" not in resp.json:
            return events
        from_token = resp.json["end"]
    raise AssertionError("pagination did not finish")


def bodies(events: list[dict[str, Any]]) -> list[str]:
    """The ``body`` of each m.room.message, in order."""
    return [
        e["content"].get("body", "<redacted>")
        for e in events
        if e["type"] == "m.room.message"
    ]


def say(server: TestServer, token: str, room_id: str, body: str, **content: Any) -> str:
    """Send a text message; returns its event ID. Moves the clock 1s first."""
    server.advance(1)
    resp = send(server, token, room_id, {"msgtype": "m.text", "body": body, **content})
    assert resp.code == 200, resp.json
    return str(resp.json["event_id"])


def event_json(
    server: TestServer, token: str, room_id: str, event_id: str
) -> FakeResponse:
    return get(server, token, f"/rooms/{room_id}/event/{event_id}")


def login_again(
    server: TestServer, localpart: str, password: str = "password123"
) -> str:
    """A second device for an existing user; returns its access token."""
    resp = server.request(
        "POST",
        f"{CLIENT}/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": password,
        },
    )
    assert resp.code == 200, resp.json
    return str(resp.json["access_token"])
