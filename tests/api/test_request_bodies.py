"""The request-body edge (api/http/body.py): one mapping for every endpoint.

A wrong type or shape is 400 M_BAD_JSON, an absent required field 400
M_MISSING_PARAM, a value outside what the field allows 400 M_INVALID_PARAM;
every message names the field by its dotted path. Strings with NUL and
integers beyond canonical JSON are M_BAD_JSON; unknown keys are ignored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from homeserver.api.client.bodies.rooms import CreateRoomBody
from homeserver.api.http.body import validate_body
from homeserver.errors import MatrixError
from homeserver.util.json_values import MAX_SAFE_INTEGER
from tests.api.helpers import CLIENT
from tests.support.server import TestServer

BAD, MISSING, INVALID = "M_BAD_JSON", "M_MISSING_PARAM", "M_INVALID_PARAM"

# (method, path under /_matrix/client/v3, body, errcode, field named)
CASES: list[tuple[str, str, Any, str, str]] = [
    # POST /createRoom
    ("POST", "/createRoom", {"visibility": 5}, BAD, "visibility"),
    ("POST", "/createRoom", {"visibility": "secret"}, INVALID, "visibility"),
    ("POST", "/createRoom", {"preset": "party"}, INVALID, "preset"),
    ("POST", "/createRoom", {"name": None}, BAD, "name"),
    ("POST", "/createRoom", {"name": "a\u0000b"}, BAD, "name"),
    ("POST", "/createRoom", {"invite": ["@bob:test", 5]}, BAD, "invite.1"),
    ("POST", "/createRoom", {"is_direct": 1}, BAD, "is_direct"),
    (
        "POST",
        "/createRoom",
        {"initial_state": [{"type": "m.room.topic", "state_key": 5, "content": {}}]},
        BAD,
        "initial_state.0.state_key",
    ),
    (
        "POST",
        "/createRoom",
        {"initial_state": [{"type": "m.room.topic", "content": {}}, {"type": "x"}]},
        MISSING,
        "initial_state.1.content",
    ),
    # PUT /rooms/{roomId}/typing/{userId}
    ("PUT", "/rooms/{room}/typing/{user}", {}, MISSING, "typing"),
    ("PUT", "/rooms/{room}/typing/{user}", {"typing": 1}, BAD, "typing"),
    (
        "PUT",
        "/rooms/{room}/typing/{user}",
        {"typing": True, "timeout": "1000"},
        BAD,
        "timeout",
    ),
    (
        "PUT",
        "/rooms/{room}/typing/{user}",
        {"typing": True, "timeout": -5},
        INVALID,
        "timeout",
    ),
    (
        "PUT",
        "/rooms/{room}/typing/{user}",
        {"typing": True, "timeout": MAX_SAFE_INTEGER + 1},
        BAD,
        "timeout",
    ),
    # POST /rooms/{roomId}/invite
    ("POST", "/rooms/{room}/invite", {}, MISSING, "user_id"),
    ("POST", "/rooms/{room}/invite", {"user_id": ["@bob:test"]}, BAD, "user_id"),
    # POST /rooms/{roomId}/upgrade
    ("POST", "/rooms/{room}/upgrade", {}, MISSING, "new_version"),
    (
        "POST",
        "/rooms/{room}/upgrade",
        {"new_version": "11", "additional_creators": "@bob:test"},
        BAD,
        "additional_creators",
    ),
    # PUT /user/{userId}/rooms/{roomId}/tags/{tag}
    ("PUT", "/user/{user}/rooms/{room}/tags/u.x", {"order": 2}, INVALID, "order"),
    ("PUT", "/user/{user}/rooms/{room}/tags/u.x", {"order": "0"}, BAD, "order"),
    # PUT /sendToDevice/{eventType}/{txnId}
    (
        "PUT",
        "/sendToDevice/m.x/t1",
        {"messages": {"@bob:test": {"DEV": 5}}},
        BAD,
        "messages.@bob:test.DEV",
    ),
    (
        "PUT",
        "/sendToDevice/m.x/t2",
        {"messages": {"@bob:test": {"D\u0000": {}}}},
        BAD,
        "messages.@bob:test.D\\u0000",
    ),
    # PUT /presence/{userId}/status
    ("PUT", "/presence/{user}/status", {"presence": "away"}, INVALID, "presence"),
    ("PUT", "/presence/{user}/status", {"presence": None}, BAD, "presence"),
    # POST /publicRooms
    ("POST", "/publicRooms", {"limit": MAX_SAFE_INTEGER + 1}, BAD, "limit"),
    ("POST", "/publicRooms", {"limit": "10"}, BAD, "limit"),
    (
        "POST",
        "/publicRooms",
        {"filter": {"room_types": [5]}},
        BAD,
        "filter.room_types.0",
    ),
    # POST /login
    ("POST", "/login", {}, MISSING, "type"),
    ("POST", "/login", {"type": 1}, BAD, "type"),
    (
        "POST",
        "/login",
        {"type": "m.login.password", "device_id": ""},
        INVALID,
        "device_id",
    ),
    (
        "POST",
        "/login",
        {"type": "m.login.password", "refresh_token": "true"},
        BAD,
        "refresh_token",
    ),
]


@pytest.fixture
def alice(server: TestServer) -> dict[str, str]:
    """alice's token, user ID and a room of hers."""
    user_id, token = server.register("alice")
    resp = server.request("POST", f"{CLIENT}/createRoom", {}, token=token)
    assert resp.code == 200, resp.json
    return {"token": token, "user": user_id, "room": resp.json["room_id"]}


@pytest.mark.parametrize(("method", "path", "body", "errcode", "field"), CASES)
def test_bad_bodies_name_the_field(
    server: TestServer,
    alice: dict[str, str],
    method: str,
    path: str,
    body: Any,
    errcode: str,
    field: str,
) -> None:
    uri = CLIENT + path.format(room=quote(alice["room"]), user=quote(alice["user"]))
    resp = server.request(method, uri, body, token=alice["token"])
    assert (resp.code, resp.json["errcode"]) == (400, errcode), resp.json
    assert resp.json["error"].startswith(f"{field}: "), resp.json


def test_unknown_keys_are_ignored(server: TestServer, alice: dict[str, str]) -> None:
    """The spec asks servers to ignore fields they do not know, whatever
    their type."""
    body = {"name": "Hi", "com.example.x": {"y": [1, None]}, "visibility_x": 5}
    resp = server.request("POST", f"{CLIENT}/createRoom", body, token=alice["token"])
    assert resp.code == 200, resp.json
    uri = f"{CLIENT}/rooms/{quote(alice['room'])}/typing/{quote(alice['user'])}"
    resp = server.request("PUT", uri, {"typing": False, "x": [5]}, token=alice["token"])
    assert resp.code == 200, resp.json


def test_not_json_and_not_an_object(server: TestServer, alice: dict[str, str]) -> None:
    uri = f"{CLIENT}/rooms/{quote(alice['room'])}/invite"
    resp = server.request("POST", uri, b"{nope", token=alice["token"])
    assert (resp.code, resp.json["errcode"]) == (400, "M_NOT_JSON")
    resp = server.request("POST", uri, [{"user_id": "@bob:test"}], token=alice["token"])
    assert (resp.code, resp.json["errcode"]) == (400, "M_BAD_JSON")


def test_validate_body_raises_the_matrix_error() -> None:
    """What ``ApiRequest.parse`` (HTTP and WebSocket alike) raises."""
    with pytest.raises(MatrixError) as raised:
        validate_body(CreateRoomBody, {"room_alias_name": 7})
    assert (raised.value.code, raised.value.errcode) == (400, "M_BAD_JSON")
    assert raised.value.msg.startswith("room_alias_name: ")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, {"visibility": "private", "preset": None, "room_version": None}),
        (
            {"visibility": "public", "preset": None, "room_version": "10"},
            {"visibility": "public", "preset": None, "room_version": "10"},
        ),
    ],
)
def test_defaults_and_nullable_fields(data: Any, expected: dict[str, Any]) -> None:
    """Left out means the default; ``preset`` takes null as left out, while
    ``room_version`` (not nullable in the spec) refuses it."""
    body = validate_body(CreateRoomBody, data)
    assert {k: getattr(body, k) for k in expected} == expected
    with pytest.raises(MatrixError) as raised:
        validate_body(CreateRoomBody, {"room_version": None})
    assert raised.value.msg == "room_version: must not be null"
