"""Bad input to every federation and key endpoint gets a Matrix error, never
a 500 or a traceback, and leaves no half-written state behind.

Each request is properly signed by a.test (so it passes X-Matrix
authentication) and sent into b.test, where ``@bob:b.test`` has a public room.
The table names the request and what the answer must be; ``{room}``,
``{event}`` and ``{user}`` stand for the room, one of its events and a local
user. After every request the DAG tables of b.test hold the same rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import attrs
import pytest

from homeserver.events.hashing import add_content_hash, compute_event_id
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.events.signing import sign_event
from homeserver.federation.auth import sign_request
from tests.federation.pair import FederationPair, q
from tests.harness import FakeResponse, TestServer

FED = "/_matrix/federation"
KEY = "/_matrix/key/v2"
NOT_JSON = b"{not json"
HUGE = 10**30
DAG_TABLES = (
    "events",
    "event_edges",
    "event_forward_extremities",
    "state_groups",
    "state_group_entries",
    "current_state_events",
    "room_memberships",
)


@attrs.define
class Room:
    """The room on b.test the requests aim at."""

    room_id: str
    event_id: str
    user_id: str
    token: str


def send_raw(pair: FederationPair, method: str, uri: str, body: Any) -> FakeResponse:
    """``body`` (JSON, or raw bytes sent as they are) signed by a.test into
    b.test; a raw body is signed as if it had none (it never parses)."""
    content = None if isinstance(body, bytes) else body
    header = sign_request(pair.a.signing_key, method, uri, "a.test", "b.test", content)
    return pair.b.request(method, uri, body, headers={"Authorization": header})


def row_counts(server: TestServer) -> dict[str, int]:
    """How many rows each DAG table holds."""

    def count(txn: Any) -> dict[str, int]:
        return {
            table: int(txn.query_one(f"SELECT COUNT(*) FROM {table}")[0])
            for table in DAG_TABLES
        }

    return server.get_success(server.db.run_interaction("test_counts", count))


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test whose requests made the server log an error (a traceback
    the client never sees, such as a PDU failing inside a 200 /send)."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR
    ]
    assert not errors, "\n".join(errors)


@pytest.fixture
def room(pair: FederationPair) -> Room:
    """bob's public room on b.test, which alice of a.test has joined."""
    user_id, token = pair.b.register("bob")
    resp = pair.b.request(
        "POST", "/_matrix/client/v3/createRoom", {"preset": "public_chat"}, token
    )
    assert resp.code == 200, resp.json
    room_id = resp.json["room_id"]
    resp = pair.b.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/t1",
        {"msgtype": "m.text", "body": "hi"},
        token,
    )
    assert resp.code == 200, resp.json
    event_id = resp.json["event_id"]
    _, a_token = pair.a.register("alice")
    resp = pair.a.request(
        "POST", f"/_matrix/client/v3/join/{quote(room_id)}?via=b.test", {}, a_token
    )
    assert resp.code == 200, resp.json
    return Room(room_id, event_id, user_id, token)


def check_cases(pair: FederationPair, room: Room, cases: list[tuple[Any, ...]]) -> None:
    """Send every ``(method, path, body[, status])`` case; each must answer
    a Matrix error with a 4xx status (or exactly ``status``) and change no
    DAG row. Every failing case is reported at once."""
    subs = {
        "room": q(room.room_id),
        "event": q(room.event_id),
        "user": q(room.user_id),
    }
    failures = []
    for method, path, body, *status in cases:
        uri = path.format(**subs)
        before = row_counts(pair.b)
        resp = send_raw(pair, method, uri, body)
        body_json = _json_or_none(resp)
        if status:
            ok = resp.code == status[0]
        else:
            ok = (
                400 <= resp.code < 500
                and isinstance(body_json, dict)
                and isinstance(body_json.get("errcode"), str)
                and isinstance(body_json.get("error"), str)
            )
        if not ok:
            failures.append(f"{method} {uri} {body!r}: {resp.code} {body_json}")
        elif row_counts(pair.b) != before:
            failures.append(f"{method} {uri} {body!r:.80}: changed the DAG tables")
    assert not failures, "\n".join(failures)


def _json_or_none(resp: FakeResponse) -> Any:
    try:
        return resp.json
    except ValueError:
        return None


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


KEY_CASES: list[tuple[Any, ...]] = [
    (
        "POST",
        f"{KEY}/query",
        {"server_keys": {"a.test": {"ed25519:k1": {"minimum_valid_until_ts": HUGE}}}},
        200,
    ),
    (
        "POST",
        f"{KEY}/query",
        {"server_keys": {"a.test": {"ed25519:k1": {"minimum_valid_until_ts": -HUGE}}}},
        200,
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
        {"earliest_events": [], "latest_events": ["$nope"], "limit": HUGE},
        200,
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
    ("PUT", f"{FED}/v1/send/t10", {"origin_server_ts": HUGE, "pdus": []}, 200),
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
    ("POST", f"{FED}/v1/publicRooms", {"limit": HUGE}, 200),
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


def signed_pdu(pair: FederationPair, template: dict[str, Any], **changes: Any) -> Any:
    """``template`` with ``changes``, hashed and signed by a.test as a valid
    PDU would be; ``(event_id, pdu)``."""
    version = KNOWN_ROOM_VERSIONS["10"]
    pdu = {**template, "origin_server_ts": 1000, "origin": "a.test", **changes}
    add_content_hash(pdu)
    sign_event(pdu, version, "a.test", pair.a.signing_key)
    return compute_event_id(pdu, version), pdu


def test_well_formed_but_wrong_events_get_a_matrix_error(
    pair: FederationPair, room: Room
) -> None:
    """Properly signed events built on a real make_join template, each wrong
    in one way, into send_join, send_leave, send_knock and invite."""
    made = send_raw(
        pair,
        "GET",
        f"{FED}/v1/make_join/{quote(room.room_id)}/@x:a.test?ver=10",
        None,
    )
    assert made.code == 200, made.json
    template = made.json["event"]
    content = template["content"]
    variants = [
        {"content": {**content, "membership": "leave"}},
        {"content": {**content, "membership": 5}},
        {"content": 5},
        {"state_key": "@y:a.test"},
        {"sender": "@x:c.test", "state_key": "@x:c.test"},
        {"room_id": "!other:b.test"},
        {"type": "m.room.message"},
        {"prev_events": ["$unknown"]},
        {"auth_events": ["$unknown"]},
        {"prev_events": []},
        {"unsigned": 5},
    ]
    cases: list[tuple[Any, ...]] = []
    for changes in variants:
        event_id, pdu = signed_pdu(pair, template, **changes)
        cases += [
            ("PUT", f"{FED}/{kind}/{{room}}/{quote(event_id)}", pdu)
            for kind in ("v1/send_join", "v2/send_join", "v2/send_leave")
        ]
        cases.append(("PUT", f"{FED}/v1/send_join/{{room}}/$other", pdu))
        cases.append(
            (
                "PUT",
                f"{FED}/v2/invite/{{room}}/{quote(event_id)}",
                {"room_version": "10", "event": pdu, "invite_room_state": [5]},
            )
        )
    for membership in ("join", "invite", "knock"):
        event_id, pdu = signed_pdu(pair, template, content={"membership": membership})
        cases += [
            ("PUT", f"{FED}/v1/send_knock/{{room}}/{quote(event_id)}", pdu),
            ("PUT", f"{FED}/v2/send_leave/{{room}}/{quote(event_id)}", pdu),
        ]
    check_cases(pair, room, cases)


def test_invite_with_garbage_stripped_state(pair: FederationPair, room: Room) -> None:
    """An invite into a room b.test is not in, whose stripped state and
    ``unsigned`` are garbage: stored without the garbage, and bob's sync
    still works."""
    template = {
        "room_id": "!elsewhere:a.test",
        "type": "m.room.member",
        "sender": "@x:a.test",
        "state_key": room.user_id,
        "content": {"membership": "invite"},
        "depth": 5,
        "prev_events": ["$p"],
        "auth_events": ["$a"],
    }
    for i, (unsigned, state) in enumerate(
        [(5, None), ({"invite_room_state": 5}, None), (None, [5, {"type": 5}])]
    ):
        extra = {} if unsigned is None else {"unsigned": unsigned}
        event_id, pdu = signed_pdu(pair, template, depth=5 + i, **extra)
        body: dict[str, Any] = {"room_version": "10", "event": pdu}
        if state is not None:
            body["invite_room_state"] = state
        resp = send_raw(
            pair,
            "PUT",
            f"{FED}/v2/invite/%21elsewhere%3Aa.test/{quote(event_id)}",
            body,
        )
        assert resp.code < 500, resp.json
    resp = pair.b.request("GET", "/_matrix/client/v3/sync", token=room.token)
    assert resp.code == 200, resp.json


def test_wrong_pdus_in_a_transaction_are_refused_one_by_one(
    pair: FederationPair, room: Room
) -> None:
    """Signed PDUs that are wrong in one way each get a per-PDU answer in a
    200 /send, never an internal error."""
    made = send_raw(
        pair,
        "GET",
        f"{FED}/v1/make_join/{q(room.room_id)}/@x:a.test?ver=10",
        None,
    )
    assert made.code == 200, made.json
    template = made.json["event"]
    variants: list[dict[str, Any]] = [
        {"content": {"membership": 5}},
        {"content": {"membership": "ban"}},
        {"sender": "@x:c.test", "state_key": "@x:c.test"},
        {"room_id": "!other:b.test"},
        {"prev_events": ["$unknown"]},
        {"prev_events": [f"$unknown{i}" for i in range(30)]},
        {"auth_events": ["$unknown"]},
        {"auth_events": []},
        {"prev_events": []},
        {"depth": 2**53},
        {"origin_server_ts": -1},
        {"type": "m.room.power_levels", "state_key": "", "content": {"users": 5}},
        {"type": "m.room.create", "state_key": "", "content": {}},
        {"redacts": "$x", "type": "m.room.redaction", "content": {}},
    ]
    pdus = [signed_pdu(pair, template, **changes)[1] for changes in variants]
    resp = send_raw(
        pair,
        "PUT",
        f"{FED}/v1/send/wrong-pdus",
        {"origin": "a.test", "origin_server_ts": 1000, "pdus": pdus},
    )
    assert resp.code == 200, resp.json
    errors = {r.get("error") for r in resp.json["pdus"].values()}
    assert "Internal error processing the event" not in errors, resp.json


@pytest.mark.parametrize(
    "origin",
    ["../../etc", "a.test:99999999999", "[::1", "a b", "@x:a.test", "", "é.test"],
)
def test_odd_origins_get_401(pair: FederationPair, origin: str) -> None:
    """An X-Matrix header naming an origin that is no server name: 401 (or
    403 for a name federation refuses), never a failed key lookup's 500."""
    header = (
        f'X-Matrix origin="{origin}",destination="b.test",'
        'key="ed25519:k1",sig="c2lnbmF0dXJl"'
    )
    resp = pair.b.request(
        "GET",
        f"{FED}/v1/query/profile?user_id=@bob:b.test",
        headers={"Authorization": header},
    )
    assert resp.code in (401, 403), resp.json
    assert resp.json["errcode"] in ("M_UNAUTHORIZED", "M_FORBIDDEN")


GARBAGE_ANSWERS: list[Any] = [
    5,
    [],
    "x",
    {},
    {"displayname": 5, "avatar_url": [], "room_id": 5, "servers": "x"},
    {"room_id": "!r:b.test", "servers": [5]},
    {"chunk": 5, "next_batch": 5, "total_room_count_estimate": "x"},
    {"chunk": [5, {"room_id": 5}]},
    {"room_version": 5, "event": 5},
    {"room_version": "10", "event": {"type": 5}},
]


@pytest.mark.parametrize("answer", GARBAGE_ANSWERS)
def test_garbage_from_another_server_never_gives_a_500(
    pair: FederationPair, answer: Any
) -> None:
    """b.test answers every federation request of a.test's services with
    ``answer``: a.test's clients get a Matrix error (502 for a bad answer),
    never a 500."""
    a = pair.a
    _, token = a.register("alice")
    transport: Any = a.hs.federation.transport
    real = transport.request

    async def lying(
        method: str, destination: str, path: str, *args: Any, **kw: Any
    ) -> Any:
        if path.startswith(FED):
            return answer
        return await real(method, destination, path, *args, **kw)

    transport.request = lying
    client = "/_matrix/client/v3"
    requests = [
        ("GET", f"{client}/profile/@bob:b.test", None),
        ("GET", f"{client}/profile/@bob:b.test/displayname", None),
        ("GET", f"{client}/directory/room/{q('#x:b.test')}", None),
        ("GET", f"{client}/publicRooms?server=b.test", None),
        ("POST", f"{client}/publicRooms?server=b.test", {}),
        ("POST", f"{client}/join/{q('!r:b.test')}?via=b.test", {}),
        ("POST", f"{client}/knock/{q('!r:b.test')}?via=b.test", {}),
    ]
    failures = []
    for method, path, body in requests:
        resp = a.request(method, path, body, token)
        body_json = _json_or_none(resp)
        if resp.code == 500 or (resp.code >= 400 and not isinstance(body_json, dict)):
            failures.append(f"{method} {path}: {resp.code} {body_json}")
        elif resp.code >= 400 and "errcode" not in body_json:
            failures.append(f"{method} {path}: {resp.code} {body_json}")
        elif "/profile/" in path and resp.code == 200:
            fields = [body_json.get(k, "") for k in ("displayname", "avatar_url")]
            if not all(isinstance(v, str) for v in fields):
                failures.append(f"{method} {path}: passed on {body_json}")
    assert not failures, "\n".join(failures)


def test_malformed_edus_are_ignored(pair: FederationPair, room: Room) -> None:
    """EDUs with the right type and the wrong insides, about a real room and
    real users: the transaction is accepted, nothing is logged as an error,
    and bob's sync still works."""
    r, bob = room.room_id, room.user_id
    contents: dict[str, list[Any]] = {
        "m.typing": [
            {"room_id": r, "user_id": 5, "typing": True},
            {"room_id": r, "user_id": "@x:a.test", "typing": "yes"},
            {"room_id": r, "user_id": "@x:c.test", "typing": True},
        ],
        "m.receipt": [
            {r: 5},
            {r: {"m.read": 5}},
            {r: {"m.read": {"@x:a.test": 5}}},
            {r: {"m.read": {"@x:a.test": {"event_ids": 5, "data": 5}}}},
            {r: {"m.read": {"@x:a.test": {"event_ids": [5], "data": {"ts": "x"}}}}},
            {r: {"m.read": {"not-a-user": {"event_ids": ["$x"], "data": {}}}}},
        ],
        "m.presence": [
            {"push": [5, {"user_id": 5}, {"user_id": "@x:a.test", "presence": 5}]},
            {
                "push": [
                    {
                        "user_id": "@x:a.test",
                        "presence": "online",
                        "last_active_ago": "x",
                    }
                ]
            },
        ],
        "m.device_list_update": [
            {"user_id": "@x:a.test", "device_id": "D", "stream_id": 1, "prev_id": "x"},
            {
                "user_id": "@x:a.test",
                "device_id": "D",
                "stream_id": 2,
                "deleted": "x",
                "keys": 5,
            },
            {"user_id": bob, "device_id": "D", "stream_id": 1},
        ],
        "m.direct_to_device": [
            {
                "sender": "@x:a.test",
                "type": "t",
                "message_id": "m1",
                "messages": {bob: 5},
            },
            {
                "sender": "@x:a.test",
                "type": "t",
                "message_id": "m2",
                "messages": {bob: {"D": 5}},
            },
            {
                "sender": "@x:a.test",
                "type": "t",
                "message_id": "m3",
                "messages": {"x": {}},
            },
            {
                "sender": "@x:c.test",
                "type": "t",
                "message_id": "m4",
                "messages": {bob: {"*": {}}},
            },
        ],
        "m.signing_key_update": [
            {"user_id": 5},
            {"user_id": "@x:a.test", "master_key": 5},
        ],
    }
    edus = [
        {"edu_type": edu_type, "content": content}
        for edu_type, items in contents.items()
        for content in items
    ]
    resp = send_raw(
        pair,
        "PUT",
        f"{FED}/v1/send/bad-edus",
        {"origin": "a.test", "origin_server_ts": 1000, "pdus": [], "edus": edus},
    )
    assert resp.code == 200, resp.json
    pair.pump(1)
    resp = pair.b.request("GET", "/_matrix/client/v3/sync", token=room.token)
    assert resp.code == 200, resp.json


@pytest.mark.parametrize("query", [f"from={HUGE}", "from=abc", f"limit={-HUGE}"])
def test_destinations_admin_bad_query(pair: FederationPair, query: str) -> None:
    """The federation destinations admin API refuses integers the database
    cannot hold, as it refuses non-integers."""
    _, token = pair.b.register("admin", admin=True)
    resp = pair.b.request(
        "GET", f"/_synapse/admin/v1/federation/destinations?{query}", token=token
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM"), resp.json


PUBLIC_ROUTES = ("/_matrix/key/", "/_matrix/federation/v1/version")


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
                if (resp.code, _json_or_none(resp)) != (
                    401,
                    {
                        "errcode": "M_UNAUTHORIZED",
                        "error": "Missing Authorization header",
                    },
                ):
                    failures.append(f"{method} {path}: {resp.code} {resp.body[:80]!r}")
    assert checked > 20
    assert not failures, "\n".join(failures)
