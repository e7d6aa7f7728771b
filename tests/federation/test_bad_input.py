"""Bad input to every federation and key endpoint gets a Matrix error, never
a 500 or a traceback, and leaves no half-written state behind.

Each request is properly signed by a.test (so it passes X-Matrix
authentication) and sent into b.test, where ``@bob:b.test`` has a public room
that a.test has joined. The tables name the request and what the answer must
be; ``{room}``, ``{event}`` and ``{user}`` stand for the room, one of its
events and a local user. After every request the DAG tables of b.test hold the
same rows. Signed events and transactions that are wrong inside are in
test_bad_input_events.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.federation.bad_input import (
    FED,
    HUGE,
    KEY,
    NOT_JSON,
    Room,
    check_cases,
    fail_on_logged_errors,
    json_or_none,
    make_room,
)
from tests.federation.pair import FederationPair

SAFE = 2**53 - 1  # the largest integer canonical JSON allows


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No request of a test may make the server log an error."""
    yield from fail_on_logged_errors(caplog)


@pytest.fixture
def room(pair: FederationPair) -> Room:
    """bob's public room on b.test, which alice of a.test has joined."""
    return make_room(pair)


def _event_shapes() -> list[Any]:
    """Bodies that are not a usable membership event."""
    return [
        NOT_JSON,
        [],
        {},
        {"type": 5},
        {"type": "m.room.member", "content": "x", "sender": 5},
        {
            "type": "m.room.member",
            "state_key": "@x:a.test",
            "sender": "@x:a.test",
            "room_id": "!other:b.test",
            "content": {"membership": "join"},
            "origin_server_ts": HUGE,
            "depth": HUGE,
            "prev_events": "x",
            "auth_events": [5],
        },
        {
            "type": "m.room.member",
            "state_key": "@x:a.test",
            "sender": "@x:a.test",
            "content": {"membership": "join"},
            "origin_server_ts": 1.5,
            "prev_events": [],
            "auth_events": [],
            "depth": 1,
        },
    ]


# Integers in request bodies must fit canonical JSON (spec: appendices,
# "Canonical JSON"): the largest is served, one beyond is 400 M_BAD_JSON.
KEY_CASES: list[tuple[Any, ...]] = [
    (
        "POST",
        f"{KEY}/query",
        {"server_keys": {"a.test": {"ed25519:k1": {"minimum_valid_until_ts": SAFE}}}},
        200,
    ),
    (
        "POST",
        f"{KEY}/query",
        {"server_keys": {"a.test": {"ed25519:k1": {"minimum_valid_until_ts": HUGE}}}},
    ),
    (
        "POST",
        f"{KEY}/query",
        {"server_keys": {"a.test": {"ed25519:k1": {"minimum_valid_until_ts": -HUGE}}}},
    ),
    ("POST", f"{KEY}/query", {"server_keys": {"a.test": {}, "c.test": {}}}, 200),
    ("GET", f"{KEY}/query/b.test?minimum_valid_until_ts=abc", None),
    ("GET", f"{KEY}/query/b.test?minimum_valid_until_ts={HUGE}", None),
    ("GET", f"{KEY}/query/not%20a%20server!?minimum_valid_until_ts=1", None, 200),
    ("POST", f"{KEY}/query", NOT_JSON),
    ("POST", f"{KEY}/query", []),
    ("POST", f"{KEY}/query", {}),
    ("POST", f"{KEY}/query", {"server_keys": 5}),
    ("POST", f"{KEY}/query", {"server_keys": {"c.test": 5}}),
    ("POST", f"{KEY}/query", {"server_keys": {"c.test": {"k": 5}}}),
    (
        "POST",
        f"{KEY}/query",
        {"server_keys": {"c.test": {"k": {"minimum_valid_until_ts": "x"}}}},
    ),
]

READ_CASES: list[tuple[Any, ...]] = [
    ("GET", f"{FED}/v1/event/$nope", None),
    ("GET", f"{FED}/v1/event/%FF%FE", None),
    ("GET", f"{FED}/v1/state/{{room}}", None),
    ("GET", f"{FED}/v1/state/{{room}}?event_id=$nope", None),
    ("GET", f"{FED}/v1/state/!nope:b.test?event_id={{event}}", None),
    ("GET", f"{FED}/v1/state_ids/{{room}}", None),
    ("GET", f"{FED}/v1/state_ids/not-a-room?event_id={{event}}", None),
    ("GET", f"{FED}/v1/event_auth/{{room}}/$nope", None),
    ("GET", f"{FED}/v1/event_auth/!nope:b.test/{{event}}", None),
    ("GET", f"{FED}/v1/backfill/{{room}}", None),
    ("GET", f"{FED}/v1/backfill/{{room}}?v={{event}}&limit=abc", None),
    ("GET", f"{FED}/v1/backfill/{{room}}?v={{event}}&limit={HUGE}", None),
    ("GET", f"{FED}/v1/backfill/{{room}}?v={{event}}&limit={2**62}", None, 200),
    ("GET", f"{FED}/v1/backfill/{{room}}?v={{event}}&limit=-5", None),
    ("GET", f"{FED}/v1/backfill/!nope:b.test?v={{event}}", None),
    ("POST", f"{FED}/v1/get_missing_events/{{room}}", NOT_JSON),
    ("POST", f"{FED}/v1/get_missing_events/{{room}}", []),
    ("POST", f"{FED}/v1/get_missing_events/{{room}}", {}),
    (
        "POST",
        f"{FED}/v1/get_missing_events/{{room}}",
        {"earliest_events": [5], "latest_events": []},
    ),
    (
        "POST",
        f"{FED}/v1/get_missing_events/{{room}}",
        {"earliest_events": [], "latest_events": ["$x"], "limit": "10"},
    ),
    (
        "POST",
        f"{FED}/v1/get_missing_events/{{room}}",
        {"earliest_events": [], "latest_events": ["$nope"], "limit": SAFE},
        200,
    ),
    (
        "POST",
        f"{FED}/v1/get_missing_events/{{room}}",
        {"earliest_events": [], "latest_events": ["$nope"], "limit": HUGE},
    ),
    (
        "POST",
        f"{FED}/v1/get_missing_events/!nope:b.test",
        {"earliest_events": [], "latest_events": ["$x"]},
    ),
]

MEMBERSHIP_CASES: list[tuple[Any, ...]] = [
    *(
        ("GET", f"{FED}/v1/{kind}/{path}", None)
        for kind in ("make_join", "make_leave", "make_knock")
        for path in (
            "!nope:b.test/@x:a.test",
            "{room}/not-a-user",
            "{room}/@x:c.test",
            "not-a-room/@x:a.test",
            "{room}/%FF",
        )
    ),
    ("GET", f"{FED}/v1/make_join/{{room}}/@x:a.test?ver=999", None),
    ("GET", f"{FED}/v1/make_knock/{{room}}/@x:a.test?ver=999", None),
    *(
        ("PUT", f"{FED}/{kind}/{path}", body)
        for kind in (
            "v1/send_join",
            "v2/send_join",
            "v1/send_leave",
            "v2/send_leave",
            "v1/send_knock",
        )
        for path, body in [
            *(("{room}/$x", shape) for shape in _event_shapes()),
            ("!nope:b.test/$x", {"type": "m.room.member"}),
            ("not-a-room/$x", {"type": "m.room.member"}),
        ]
    ),
    *(
        ("PUT", f"{FED}/{version}/invite/{{room}}/$x", body)
        for version in ("v1", "v2")
        for body in _event_shapes()
    ),
    ("PUT", f"{FED}/v2/invite/{{room}}/$x", {"room_version": 5, "event": {}}),
    ("PUT", f"{FED}/v2/invite/{{room}}/$x", {"room_version": "999", "event": {}}),
    (
        "PUT",
        f"{FED}/v2/invite/{{room}}/$x",
        {"room_version": "10", "event": {"type": 5}, "invite_room_state": 5},
    ),
    (
        "PUT",
        f"{FED}/v1/invite/{{room}}/$x",
        {"type": "m.room.member", "unsigned": {"invite_room_state": 5}},
    ),
]

SEND_CASES: list[tuple[Any, ...]] = [
    ("PUT", f"{FED}/v1/send/t1", NOT_JSON),
    ("PUT", f"{FED}/v1/send/t2", []),
    ("PUT", f"{FED}/v1/send/t3", {"pdus": 5}),
    ("PUT", f"{FED}/v1/send/t4", {"pdus": [], "edus": 5}),
    ("PUT", f"{FED}/v1/send/t5", {"pdus": [5, "x", {}, {"room_id": 5}]}, 200),
    ("PUT", f"{FED}/v1/send/t6", {"pdus": [{"room_id": "{room}"}]}, 200),
    ("PUT", f"{FED}/v1/send/t7", {"pdus": [], "edus": [5, {}, {"edu_type": 5}]}, 200),
    (
        "PUT",
        f"{FED}/v1/send/t8",
        {
            "pdus": [],
            "edus": [
                {"edu_type": "m.typing", "content": 5},
                {"edu_type": "m.typing", "content": {"room_id": 5}},
                {"edu_type": "m.receipt", "content": {"x": 5}},
                {"edu_type": "m.presence", "content": {"push": 5}},
                {"edu_type": "m.device_list_update", "content": {"user_id": 5}},
                {"edu_type": "m.direct_to_device", "content": {"messages": 5}},
            ],
        },
        200,
    ),
    ("PUT", f"{FED}/v1/send/t9", {"pdus": [{}] * 51}),
    # Integers outside canonical JSON's range are refused in any body.
    ("PUT", f"{FED}/v1/send/t10", {"origin_server_ts": HUGE, "pdus": []}),
]

QUERY_CASES: list[tuple[Any, ...]] = [
    ("GET", f"{FED}/v1/query/profile", None),
    ("GET", f"{FED}/v1/query/profile?user_id=nope", None),
    ("GET", f"{FED}/v1/query/profile?user_id=@x:c.test", None),
    ("GET", f"{FED}/v1/query/profile?user_id=@nobody:b.test", None),
    ("GET", f"{FED}/v1/query/profile?user_id={{user}}&field=age", None),
    ("GET", f"{FED}/v1/query/directory", None),
    ("GET", f"{FED}/v1/query/directory?room_alias=nope", None),
    ("GET", f"{FED}/v1/query/directory?room_alias=%23x:c.test", None),
    ("GET", f"{FED}/v1/query/directory?room_alias=%23none:b.test", None),
    ("GET", f"{FED}/v1/publicRooms?limit=abc", None),
    ("GET", f"{FED}/v1/publicRooms?since=garbage", None),
    ("GET", f"{FED}/v1/publicRooms?limit={HUGE}", None),
    ("GET", f"{FED}/v1/publicRooms?limit={2**62}", None, 200),
    ("GET", f"{FED}/v1/publicRooms?limit=-1", None),
    ("POST", f"{FED}/v1/publicRooms", NOT_JSON),
    ("POST", f"{FED}/v1/publicRooms", []),
    ("POST", f"{FED}/v1/publicRooms", {"limit": "x"}),
    ("POST", f"{FED}/v1/publicRooms", {"filter": 5}),
    ("POST", f"{FED}/v1/publicRooms", {"since": 5}),
    ("POST", f"{FED}/v1/publicRooms", {"limit": SAFE}, 200),
    ("POST", f"{FED}/v1/publicRooms", {"limit": HUGE}),
    ("GET", f"{FED}/v1/user/devices/nope", None),
    ("GET", f"{FED}/v1/user/devices/@x:c.test", None),
    ("GET", f"{FED}/v1/user/devices/@nobody:b.test", None, 200),
]


@pytest.mark.parametrize(
    "cases",
    [KEY_CASES, READ_CASES, MEMBERSHIP_CASES, SEND_CASES, QUERY_CASES],
    ids=["keys", "reads", "membership", "send", "queries"],
)
def test_bad_input_gets_a_matrix_error(
    pair: FederationPair, room: Room, cases: list[tuple[Any, ...]]
) -> None:
    check_cases(pair, room, cases)


@pytest.mark.parametrize(
    "origin",
    [
        "../../etc",
        "a.test:99999999999",
        "[::1",
        "a b",
        "@x:a.test",
        "",
        "é.test",
        "localhost:http",
    ],
)
def test_odd_origins_get_400(pair: FederationPair, origin: str) -> None:
    """An X-Matrix header naming an origin that is no server name is
    malformed: 400 M_UNAUTHORIZED (as Synapse), never a failed key lookup's
    500 nor the 401 of a signature that could not be checked."""
    header = (
        f'X-Matrix origin="{origin}",destination="b.test",'
        'key="ed25519:k1",sig="c2lnbmF0dXJl"'
    )
    resp = pair.b.request(
        "GET",
        f"{FED}/v1/query/profile?user_id=@bob:b.test",
        headers={"Authorization": header},
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_UNAUTHORIZED"), resp.json


@pytest.mark.parametrize("query", [f"from={HUGE}", "from=abc", f"limit={-HUGE}"])
def test_destinations_admin_bad_query(pair: FederationPair, query: str) -> None:
    """The federation destinations admin API refuses integers the database
    cannot hold, as it refuses non-integers."""
    _, token = pair.b.register("admin", admin=True)
    resp = pair.b.request(
        "GET", f"/_synapse/admin/v1/federation/destinations?{query}", token=token
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM"), resp.json


PUBLIC_ROUTES = (
    "/_matrix/key/",
    "/_matrix/federation/v1/version",
    # Authenticated by an OpenID access token (spec), called by integration
    # managers, not servers: no X-Matrix signature.
    "/_matrix/federation/v1/openid/userinfo",
)


def test_every_route_refuses_unsigned_requests(pair: FederationPair) -> None:
    """Every federation route but the public key and version ones answers an
    unsigned request (even one with a bad body) with 401 M_UNAUTHORIZED."""
    failures = []
    checked = 0
    for endpoint in pair.b.hs.federation.endpoints():
        for pattern in endpoint.PATTERNS:
            if pattern.startswith(PUBLIC_ROUTES):
                continue
            path = (
                pattern.replace("{room_id}", "%21r%3Ab.test")
                .replace("{event_id}", "%24e")
                .replace("{user_id}", "%40u%3Ab.test")
                .replace("{txn_id}", "t1")
            )
            for method in ("GET", "PUT", "POST"):
                if not hasattr(endpoint, f"on_{method}"):
                    continue
                checked += 1
                body = None if method == "GET" else NOT_JSON
                resp = pair.b.request(method, path, body)
                if (resp.code, json_or_none(resp)) != (
                    401,
                    {
                        "errcode": "M_UNAUTHORIZED",
                        "error": "Missing Authorization header",
                    },
                ):
                    failures.append(f"{method} {path}: {resp.code} {resp.body[:80]!r}")
    assert checked > 20
    assert not failures, "\n".join(failures)
