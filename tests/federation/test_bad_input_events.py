"""Well-formed, properly signed input that is wrong inside gets a Matrix
error (or, inside a transaction, a per-PDU answer), never a 500 or a logged
error: events built on real make_join templates, invites with garbage
stripped state, wrong PDUs and EDUs in a transaction, and garbage answers from
another server to our own requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.federation.bad_input import (
    FED,
    Room,
    check_cases,
    fail_on_logged_errors,
    json_or_none,
    make_room,
    row_counts,
    send_raw,
    signed_pdu,
)
from tests.federation.pair import FederationPair, q


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No request of a test may make the server log an error."""
    yield from fail_on_logged_errors(caplog)


@pytest.fixture
def room(pair: FederationPair) -> Room:
    """bob's public room on b.test, which alice of a.test has joined."""
    return make_room(pair)


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
        body_json = json_or_none(resp)
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


NUL = "\u0000"


def test_pdus_with_a_nul_are_refused_one_by_one(
    pair: FederationPair, room: Room
) -> None:
    """Signed PDUs with a NUL in type, state_key, sender, room ID, prev event
    IDs or content: each gets a per-PDU error in a 200 /send (PostgreSQL
    cannot store a NUL in a text column; this server stores no event with
    one, on either engine), the good PDU beside them is accepted, and no DAG
    row of a refused PDU is written."""
    made = send_raw(
        pair, "GET", f"{FED}/v1/make_join/{q(room.room_id)}/@x:a.test?ver=10", None
    )
    assert made.code == 200, made.json
    template = made.json["event"]
    variants: list[dict[str, Any]] = [
        {"type": f"m.room.member{NUL}"},
        {"state_key": f"@x{NUL}:a.test"},
        {"sender": f"@x{NUL}:a.test"},
        {"prev_events": [f"$a{NUL}b"]},
        {"content": {"membership": "join", "displayname": f"x{NUL}"}},
        {"content": {"membership": f"join{NUL}"}},
        {"room_id": f"{room.room_id}{NUL}"},
    ]
    bad = [signed_pdu(pair, template, **changes) for changes in variants]
    before = row_counts(pair.b)
    resp = send_raw(
        pair,
        "PUT",
        f"{FED}/v1/send/nul-pdus",
        {"origin": "a.test", "origin_server_ts": 1000, "pdus": [p for _, p in bad]},
    )
    assert resp.code == 200, resp.json
    results = resp.json["pdus"]
    for (event_id, _), changes in zip(bad, variants, strict=True):
        if "room_id" in changes:
            assert event_id not in results  # no usable room: ignored
            continue
        assert "NUL" in results[event_id].get("error", ""), (changes, results)
    assert row_counts(pair.b) == before
    resp = pair.b.request("GET", "/_matrix/client/v3/sync", token=room.token)
    assert resp.code == 200, resp.json


def test_edus_with_a_nul_are_dropped(pair: FederationPair, room: Room) -> None:
    """An EDU with a NUL is dropped on its own; the other EDUs and the PDUs of
    the transaction still count."""
    edus = [
        {
            "edu_type": "m.presence",
            "content": {
                "push": [
                    {
                        "user_id": "@alice:a.test",
                        "presence": "online",
                        "status_msg": f"hi{NUL}",
                        "last_active_ago": 0,
                    }
                ]
            },
        },
        {
            "edu_type": "m.direct_to_device",
            "content": {
                "sender": "@alice:a.test",
                "type": f"t{NUL}",
                "message_id": "m1",
                "messages": {room.user_id: {"*": {"x": 1}}},
            },
        },
        {
            "edu_type": "m.typing",
            "content": {
                "room_id": room.room_id,
                "user_id": "@alice:a.test",
                "typing": True,
            },
        },
    ]
    resp = send_raw(
        pair,
        "PUT",
        f"{FED}/v1/send/nul-edus",
        {"origin": "a.test", "origin_server_ts": 1000, "pdus": [], "edus": edus},
    )
    assert resp.code == 200, resp.json
    pair.pump(1)
    resp = pair.b.request("GET", "/_matrix/client/v3/sync", token=room.token)
    assert resp.code == 200, resp.json
    typing = resp.json["rooms"]["join"][room.room_id]["ephemeral"]["events"]
    assert any(e["type"] == "m.typing" for e in typing)
    assert resp.json["to_device"]["events"] == []


def test_nul_in_federation_path_and_query_parameters(
    pair: FederationPair, room: Room
) -> None:
    cases: list[tuple[Any, ...]] = [
        ("PUT", f"{FED}/v1/send/txn%00", {"pdus": []}, 400),
        ("GET", f"{FED}/v1/event/$a%00b", None, 400),
        ("GET", f"{FED}/v1/state/!a%00b:b.test?event_id={{event}}", None, 400),
        ("GET", f"{FED}/v1/state_ids/{{room}}?event_id=$a%00", None, 400),
        ("GET", f"{FED}/v1/make_join/{{room}}/@x%00:a.test?ver=10", None, 400),
        ("GET", f"{FED}/v1/query/profile?user_id=@b%00:b.test", None, 400),
        ("GET", f"{FED}/v1/backfill/{{room}}?v=$a%00&limit=5", None, 400),
    ]
    check_cases(pair, room, cases)
    for method, path, body, _ in cases:
        resp = send_raw(
            pair, method, path.format(room=q(room.room_id), event="x"), body
        )
        assert resp.json["errcode"] == "M_INVALID_PARAM", (path, resp.json)
