"""Bad input is stopped at the edge, the same way on both engines.

A NUL character (U+0000) anywhere in a request body, path parameter or query
parameter is refused with 400 naming the field (PostgreSQL cannot store it in
a text column, SQLite can: refusing it at the edge keeps the engines alike);
so are integers outside the canonical JSON range and parameters that are not
valid percent-encoded UTF-8. Nothing is written by a refused request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.api.helpers import CLIENT, LOGIN, PASSWORD, count_rows
from tests.harness import TestServer

TABLES = (
    "events",
    "rooms",
    "current_state_events",
    "account_data",
    "devices",
    "access_tokens",
    "user_filters",
)
NUL = "\u0000"


@pytest.fixture
def alice(server: TestServer) -> dict[str, str]:
    """alice, her device and a room she created."""
    user_id, token = server.register("alice")
    device = server.request("GET", f"{CLIENT}/account/whoami", token=token)
    room = server.request("POST", f"{CLIENT}/createRoom", {}, token=token)
    assert room.code == 200, room.json
    return {
        "user": user_id,
        "token": token,
        "device": device.json["device_id"],
        "room": room.json["room_id"],
    }


def rows(server: TestServer) -> dict[str, int]:
    return {table: count_rows(server, table) for table in TABLES}


# (method, path template, body, errcode, the field the message must name)
NUL_CASES: list[tuple[str, str, Any, str, str]] = [
    (
        "PUT",
        "/rooms/{room}/state/m.room.topic/a%00b",
        {},
        "M_INVALID_PARAM",
        "state_key",
    ),
    ("PUT", "/rooms/{room}/state/m.a%00b/", {}, "M_INVALID_PARAM", "event_type"),
    ("PUT", "/rooms/{room}/send/m.a%00b/t1", {}, "M_INVALID_PARAM", "event_type"),
    ("PUT", "/rooms/{room}/send/m.room.message/t%00", {}, "M_INVALID_PARAM", "txn_id"),
    ("GET", "/rooms/!a%00b:test/state", None, "M_INVALID_PARAM", "room_id"),
    ("GET", "/rooms/{room}/event/$a%00b", None, "M_INVALID_PARAM", "event_id"),
    ("PUT", "/user/{user}/account_data/a%00b", {}, "M_INVALID_PARAM", "data_type"),
    ("GET", "/rooms/{room}/messages?dir=b&from=s1%00", None, "M_INVALID_PARAM", "from"),
    (
        "PUT",
        "/rooms/{room}/send/m.room.message/t2",
        {"msgtype": "m.text", "body": f"a{NUL}b"},
        "M_BAD_JSON",
        "body",
    ),
    (
        "PUT",
        "/rooms/{room}/state/m.room.topic",
        {"topic": "x", f"k{NUL}": 1},
        "M_BAD_JSON",
        "a key",
    ),
    (
        "PUT",
        "/profile/{user}/displayname",
        {"displayname": f"a{NUL}"},
        "M_BAD_JSON",
        "displayname",
    ),
    (
        "PUT",
        "/devices/{device}",
        {"display_name": f"phone{NUL}"},
        "M_BAD_JSON",
        "display_name",
    ),
    (
        "PUT",
        "/user/{user}/account_data/m.x",
        {"deep": [{"x": f"{NUL}"}]},
        "M_BAD_JSON",
        "deep.0.x",
    ),
    (
        "POST",
        "/createRoom",
        {
            "initial_state": [
                {"type": "m.room.topic", "state_key": f"a{NUL}", "content": {}}
            ]
        },
        "M_BAD_JSON",
        "initial_state.0.state_key",
    ),
    (
        "POST",
        "/rooms/{room}/invite",
        {"user_id": f"@bob{NUL}:test"},
        "M_BAD_JSON",
        "user_id",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "errcode", "field"),
    NUL_CASES,
    ids=[f"{case[0]} {case[1]} {case[4]}" for case in NUL_CASES],
)
def test_nul_is_refused_and_named(
    server: TestServer,
    alice: dict[str, str],
    method: str,
    path: str,
    body: Any,
    errcode: str,
    field: str,
) -> None:
    before = rows(server)
    url = CLIENT + path.format(
        room=quote(alice["room"]), user=quote(alice["user"]), device=alice["device"]
    )
    resp = server.request(method, url, body, token=alice["token"])
    assert resp.code == 400, resp.json
    assert resp.json["errcode"] == errcode
    assert field in resp.json["error"]
    assert "NUL" in resp.json["error"]
    assert rows(server) == before


def test_nul_device_id_at_login(server: TestServer) -> None:
    server.get_success(server.hs.accounts.register("bob", PASSWORD))
    before = rows(server)
    resp = server.request(
        "POST",
        LOGIN,
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "bob"},
            "password": PASSWORD,
            "device_id": f"DEV{NUL}",
        },
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_BAD_JSON")
    assert "device_id" in resp.json["error"]
    assert rows(server) == before


def test_nul_in_an_inline_filter(server: TestServer, alice: dict[str, str]) -> None:
    # The NUL arrives as a JSON escape inside the query parameter.
    inline = quote('{"room":{"rooms":["!a\\u0000b:test"]}}')
    resp = server.request("GET", f"{CLIENT}/sync?filter={inline}", token=alice["token"])
    assert (resp.code, resp.json["errcode"]) == (400, "M_BAD_JSON")
    assert "room.rooms.0" in resp.json["error"]


@pytest.mark.parametrize("value", [2**53, -(2**53), 2**63, 2**64, 10**30])
def test_integers_out_of_range_are_refused(
    server: TestServer, alice: dict[str, str], value: int
) -> None:
    before = rows(server)
    resp = server.request(
        "POST",
        f"{CLIENT}/user/{quote(alice['user'])}/filter",
        {"room": {"timeline": {"limit": value}}},
        token=alice["token"],
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_BAD_JSON"), resp.json
    assert "room.timeline.limit" in resp.json["error"]
    resp = server.request(
        "PUT",
        f"{CLIENT}/rooms/{quote(alice['room'])}/send/m.room.message/big",
        {"msgtype": "m.text", "body": "x", "n": value},
        token=alice["token"],
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_BAD_JSON"), resp.json
    assert rows(server) == before


def test_non_finite_numbers_are_refused(
    server: TestServer, alice: dict[str, str]
) -> None:
    resp = server.request(
        "PUT",
        f"{CLIENT}/user/{quote(alice['user'])}/account_data/m.x",
        b'{"a": 1e999}',
        token=alice["token"],
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_BAD_JSON")
    assert "a:" in resp.json["error"]


def test_large_filter_limits_are_served_bounded(
    server: TestServer, alice: dict[str, str]
) -> None:
    """The largest limit a body may carry is stored, and every /sync that uses
    it works (the limit is served as at most 1000)."""
    user = quote(alice["user"])
    for n in range(3):
        server.request(
            "PUT",
            f"{CLIENT}/rooms/{quote(alice['room'])}/send/m.room.message/m{n}",
            {"msgtype": "m.text", "body": str(n)},
            token=alice["token"],
        )
    resp = server.request(
        "POST",
        f"{CLIENT}/user/{user}/filter",
        {"room": {"timeline": {"limit": 2**53 - 1}}},
        token=alice["token"],
    )
    assert resp.code == 200, resp.json
    filter_id = resp.json["filter_id"]
    first = server.request(
        "GET", f"{CLIENT}/sync?filter={filter_id}", token=alice["token"]
    )
    assert first.code == 200, first.json
    timeline = first.json["rooms"]["join"][alice["room"]]["timeline"]
    assert [e["content"].get("body") for e in timeline["events"]][-3:] == [
        "0",
        "1",
        "2",
    ]
    again = server.request(
        "GET",
        f"{CLIENT}/sync?filter={filter_id}&since={first.json['next_batch']}&timeout=0",
        token=alice["token"],
    )
    assert again.code == 200, again.json
    for path in (
        f"/rooms/{quote(alice['room'])}/messages?dir=b&limit=9007199254740991",
        f"/rooms/{quote(alice['room'])}/messages?dir=b&filter="
        + quote('{"limit": 9007199254740991}'),
    ):
        resp = server.request("GET", CLIENT + path, token=alice["token"])
        assert resp.code == 200, resp.json


@pytest.mark.parametrize(
    "raw_room",
    [b"%ZZ", b"%", b"%E0%A4", b"%ff", b"%C0%80", b"%ED%A0%80", b"!a%00b:test"],
)
def test_bad_percent_encoding_in_a_path(
    server: TestServer, alice: dict[str, str], raw_room: bytes
) -> None:
    head = (
        b"GET /_matrix/client/v3/rooms/" + raw_room + b"/state HTTP/1.1\r\n"
        b"Host: x\r\nAuthorization: Bearer " + alice["token"].encode() + b"\r\n\r\n"
    )
    resp = server.raw_request(head)
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM"), resp.json
    assert "room_id" in resp.json["error"]


@pytest.mark.parametrize("query", ["from=%ZZ", "from=%ff", "%ff=1", "x=%00"])
def test_bad_percent_encoding_in_a_query(
    server: TestServer, alice: dict[str, str], query: str
) -> None:
    resp = server.request(
        "GET",
        f"{CLIENT}/rooms/{quote(alice['room'])}/messages?dir=b&{query}",
        token=alice["token"],
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM"), resp.json


def test_good_encodings_still_work(server: TestServer, alice: dict[str, str]) -> None:
    """Escaped reserved characters, UTF-8 and '+' in queries decode as before."""
    room = quote(alice["room"], safe="")
    resp = server.request(
        "PUT",
        f"{CLIENT}/rooms/{room}/state/m.x/%C3%A9t%C3%A9%2Fa%20b",
        {"v": "été"},
        token=alice["token"],
    )
    assert resp.code == 200, resp.json
    resp = server.request(
        "GET",
        f"{CLIENT}/rooms/{room}/state/m.x/%C3%A9t%C3%A9%2Fa%20b",
        token=alice["token"],
    )
    assert resp.json == {"v": "été"}


@pytest.mark.parametrize(
    "value",
    [
        {"a": "x\u0000"},
        {"\u0000": 1},
        {"n": 2**53},
        {"n": -(2**53)},
        {"n": [1, {"m": 10**20}]},
        {"f": 1e308 * 10},
    ],
)
def test_the_quick_scan_never_misses_a_bad_value(value: Any) -> None:
    """Bodies the quick scan clears are never walked: every bad value must
    leave a trace in the JSON text it scans."""
    import json

    from homeserver.util.json_values import find_bad_value, may_hold_bad_value

    raw = json.dumps(value).replace("Infinity", "1e999").encode()
    assert find_bad_value(json.loads(raw)) is not None
    assert may_hold_bad_value(raw)
    assert not may_hold_bad_value(b'{"a": "x", "n": 123456789012345, "f": 1.5e99}')
