"""Database work per request in a real server process (synctl, real reactor,
the database on its thread pool), on SQLite and, with HS_TEST_POSTGRES, on
PostgreSQL: /metrics and the JSON log's debug line agree for a message send,
over HTTP and over the WebSocket."""

from __future__ import annotations

import json
import secrets
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from homeserver.storage.engines import Engine, PostgresEngine
from tests.e2e.conftest import RunningServer, synctl_server
from tests.interop.client import request
from tests.support.metrics import Samples, db_line, delta, parse_samples
from tests.websocket.isolated import run_isolated

SEND = "PUT SendEventEndpoint"


def _metrics(server: RunningServer) -> Samples:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=30) as resp:
        return parse_samples(resp.read().decode())


def _send_lines(server: RunningServer, kind: str) -> list[tuple[int, int, int]]:
    """The db lines the send requests (of ``kind``) logged, in order."""
    found = []
    for text in (server.data_dir / "homeserver.log").read_text().splitlines():
        entry = json.loads(text)
        if entry.get("db_unit") == kind and entry.get("db_unit_name") == SEND:
            line = db_line(entry["message"])
            assert line is not None, entry
            found.append(line)
    return found


def test_send_counted_by_a_running_server(
    tmp_path: Path, make_engine: Callable[[], Engine]
) -> None:
    engine = make_engine()
    settings = {
        "metrics.enabled": "true",
        "logging.level": "DEBUG",
        "logging.format": "json",
        "rate_limiting.enabled": "false",
    }
    if isinstance(engine, PostgresEngine):
        settings |= {"database.dsn": engine.dsn, "database.engine": "postgres"}
    with synctl_server(tmp_path / "data", settings) as server:
        api = f"{server.url}/_matrix/client/v3"
        alice = request(
            "POST",
            f"{api}/register",
            {
                "username": "alice",
                "password": "a long password",
                "auth": {"type": "m.login.dummy"},
            },
        )["access_token"]
        room = request("POST", f"{api}/createRoom", {}, token=alice)["room_id"]
        send = f"{api}/rooms/{urllib.parse.quote(room)}/send/m.room.message/"
        request("PUT", send + "warm", {"msgtype": "m.text", "body": "a"}, token=alice)
        before = _metrics(server)
        request("PUT", send + secrets.token_hex(4), {"body": "b"}, token=alice)
        after = _metrics(server)
        lines = _send_lines(server, "http")
        answer = run_isolated("send_one", server.url, alice, room, "over the socket")
        assert answer["status"] == 200, answer
        after_ws = _metrics(server)
        ws_lines = _send_lines(server, "websocket")

    labels = f'kind="http",name="{SEND}"'
    txns = delta(before, after, "homeserver_db_txns_total", labels)
    statements = delta(before, after, "homeserver_db_statements_total", labels)
    rows = delta(before, after, "homeserver_db_rows_total", labels)
    assert delta(before, after, "homeserver_db_units_total", labels) == 1
    # A warm send may read no rows at all (its transaction ID is new, the
    # rest is in memory); every transaction costs at least one round trip.
    trips = delta(before, after, "homeserver_db_round_trips_total", labels)
    assert txns >= 1 and statements > txns and trips >= txns
    assert len(lines) == 2
    assert lines[-1] == (txns, statements, rows)

    # The same send over the WebSocket is counted as kind="websocket".
    labels = f'kind="websocket",name="{SEND}"'
    assert delta(after, after_ws, "homeserver_db_units_total", labels) == 1
    assert ws_lines == [
        (
            delta(after, after_ws, "homeserver_db_txns_total", labels),
            delta(after, after_ws, "homeserver_db_statements_total", labels),
            delta(after, after_ws, "homeserver_db_rows_total", labels),
        )
    ]
    assert ws_lines[0][1] > 0
