"""Bad input to room endpoints gets a clear Matrix error and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import TestServer
from tests.rooms.helpers import CLIENT, create_room, current_state, put_state, send


@pytest.fixture
def room(server: TestServer) -> tuple[str, str]:
    _, token = server.register("alice")
    return token, create_room(server, token, name="Before")


def row_counts(server: TestServer) -> dict[str, int]:
    tables = (
        "events",
        "state_groups",
        "state_group_entries",
        "current_state_events",
        "event_edges",
        "event_forward_extremities",
        "room_memberships",
    )
    counts = {}
    for table in tables:
        row = server.get_success(
            server.db.run_interaction(
                "count", lambda txn, t=table: txn.query_one(f"SELECT COUNT(*) FROM {t}")
            )
        )
        counts[table] = int(row[0])
    return counts


@pytest.mark.parametrize(
    ("event_type", "content", "fragment"),
    [
        (
            "m.room.power_levels",
            {"users": {"@alice:test": "lots"}},
            "users.@alice:test",
        ),
        ("m.room.power_levels", {"ban": True}, "ban"),
        ("m.room.power_levels", {"users": {"not-a-user": 100}}, "not a user ID"),
        (
            "m.room.history_visibility",
            {"history_visibility": "sometimes"},
            "history_visibility",
        ),
        ("m.room.join_rules", {"join_rule": 5}, "join_rule"),
        ("m.room.name", {"name": 5}, "name"),
        ("m.room.topic", {"topic": ["x"]}, "topic"),
        ("m.room.guest_access", {"guest_access": "maybe"}, "guest_access"),
        ("m.room.server_acl", {"allow": "*"}, "allow"),
    ],
)
def test_malformed_state_content(
    server: TestServer,
    room: tuple[str, str],
    event_type: str,
    content: dict[str, Any],
    fragment: str,
) -> None:
    token, room_id = room
    before_state, before_rows = current_state(server, room_id), row_counts(server)
    resp = put_state(server, token, room_id, event_type, content)
    assert resp.code == 400, resp.json
    assert resp.json["errcode"] == "M_BAD_JSON"
    assert fragment in resp.json["error"]
    assert current_state(server, room_id) == before_state
    assert row_counts(server) == before_rows


def test_oversized_event(server: TestServer, room: tuple[str, str]) -> None:
    token, room_id = room
    before = row_counts(server)
    resp = send(server, token, room_id, {"msgtype": "m.text", "body": "x" * 70_000})
    assert resp.code == 413
    assert resp.json["errcode"] == "M_TOO_LARGE"
    assert row_counts(server) == before


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"null"])
def test_non_object_bodies(
    server: TestServer, room: tuple[str, str], body: bytes
) -> None:
    token, room_id = room
    resp = server.request(
        "PUT", f"{CLIENT}/rooms/{room_id}/send/m.room.message/x", body, token=token
    )
    assert resp.code == 400
    assert resp.json["errcode"] in ("M_NOT_JSON", "M_BAD_JSON")


def test_create_room_with_bad_initial_state_creates_nothing(server: TestServer) -> None:
    _, token = server.register("bob")
    before = row_counts(server)
    for body in (
        {
            "initial_state": [
                {
                    "type": "m.room.history_visibility",
                    "state_key": "",
                    "content": {"history_visibility": "never"},
                }
            ]
        },
        {"power_level_content_override": {"users": {"@bob:test": "high"}}},
        {"invite": ["not-a-user"]},
        {"preset": "secret_chat"},
        {"room_alias_name": "has space"},
    ):
        resp = server.request("POST", f"{CLIENT}/createRoom", body, token=token)
        assert resp.code == 400, (body, resp.json)
    assert row_counts(server) == before


def test_unknown_room(server: TestServer) -> None:
    _, token = server.register("carol")
    resp = send(server, token, "!nowhere:test", {"msgtype": "m.text", "body": "x"})
    assert resp.code in (403, 404)
    assert resp.json["errcode"] in ("M_FORBIDDEN", "M_NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        # Each of these passes the request-shape checks and used to fail only
        # at a later event, after the room's first events had been stored.
        (
            {
                "initial_state": [
                    {
                        "type": "m.room.member",
                        "state_key": "@someone:test",
                        "content": {"membership": "join"},
                    }
                ]
            },
            403,
        ),
        ({"initial_state": [{"type": "m.room.create", "content": {}}]}, 403),
        (
            {
                "power_level_content_override": {"state_default": 101},
                "initial_state": [{"type": "m.room.topic", "content": {"topic": "x"}}],
            },
            403,
        ),
        ({"power_level_content_override": {"x": "y" * 70_000}}, 413),
        ({"name": "n" * 70_000}, 413),
        (
            {
                "room_alias_name": "lost",
                "initial_state": [
                    {"type": "m.room.topic", "content": {"topic": "t" * 70_000}}
                ],
            },
            413,
        ),
        ({"invite": ["@x" + "y" * 250 + ":test"]}, 400),
    ],
)
def test_create_room_that_fails_late_creates_nothing(
    server: TestServer, body: dict[str, Any], code: int
) -> None:
    _, token = server.register("dora")
    before = row_counts(server)
    resp = server.request("POST", f"{CLIENT}/createRoom", body, token=token)
    assert resp.code == code, resp.json
    assert row_counts(server) == before
    aliases = server.get_success(
        server.db.run_interaction(
            "aliases", lambda txn: txn.query_one("SELECT COUNT(*) FROM room_aliases")
        )
    )
    assert aliases[0] == 0
    # The same alias is still free.
    resp = server.request(
        "POST", f"{CLIENT}/createRoom", {"room_alias_name": "lost"}, token=token
    )
    assert resp.code == 200, resp.json
