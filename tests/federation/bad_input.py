"""Helpers of the bad-input tests (test_bad_input*.py): requests signed by
a.test into b.test, a room on b.test that a.test has joined, and the check
that each answer is a Matrix error and changes none of b.test's DAG rows.
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
from homeserver.federation.transport.auth import sign_request
from tests.federation.pair import FederationPair, q
from tests.support.server import FakeResponse, TestServer

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


def fail_on_logged_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The body of an autouse fixture: fail a test whose requests made the
    server log an error (a traceback the client never sees, such as a PDU
    failing inside a 200 /send)."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR
    ]
    assert not errors, "\n".join(errors)


def make_room(pair: FederationPair) -> Room:
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
        body_json = json_or_none(resp)
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


def json_or_none(resp: FakeResponse) -> Any:
    try:
        return resp.json
    except ValueError:
        return None


def signed_pdu(pair: FederationPair, template: dict[str, Any], **changes: Any) -> Any:
    """``template`` with ``changes``, hashed and signed by a.test as a valid
    PDU would be; ``(event_id, pdu)``."""
    version = KNOWN_ROOM_VERSIONS["10"]
    pdu = {**template, "origin_server_ts": 1000, "origin": "a.test", **changes}
    add_content_hash(pdu)
    sign_event(pdu, version, "a.test", pair.a.signing_key)
    return compute_event_id(pdu, version), pdu
