"""The WebSocket transport against a real server process, with autobahn's asyncio
client (run in a child process, see isolated.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, RunningServer
from tests.websocket.httpapi import http, register
from tests.websocket.isolated import run_isolated

pytestmark = pytest.mark.integration

WS_PATH = "/_chatly/client/v1/ws"


def test_plain_get_is_a_matrix_error(running_server: RunningServer) -> None:
    status, body = http(running_server.url, "GET", WS_PATH)
    assert status == 426
    assert body["errcode"] == "M_UNRECOGNIZED"
    status, body = http(running_server.url, "POST", WS_PATH, {})
    assert (status, body["errcode"]) == (405, "M_UNRECOGNIZED")


def test_authentication(running_server: RunningServer) -> None:
    url = running_server.url
    alice = register(url, "alice")
    out = run_isolated("auth_forms", url, alice)
    for form in ("header", "query", "message"):
        assert out[form]["type"] == "authenticated", form
        assert out[form]["user_id"] == alice[0]
    assert out["whoami"]["status"] == 200
    assert out["whoami"]["body"]["user_id"] == alice[0]
    assert out["clean_close"] == [1000, None]

    bad = run_isolated("bad_tokens", url)
    for form in ("header", "message"):
        error, close = bad[form]
        assert error["type"] == "error" and error["about"] == "auth"
        assert error["status"] == 401
        assert error["body"]["errcode"] == "M_UNKNOWN_TOKEN"
        assert close == [4001, "M_UNKNOWN_TOKEN"]


def test_unauthenticated_socket(running_server: RunningServer) -> None:
    out = run_isolated("unauthenticated", running_server.url)
    assert out["whoami"]["status"] == 401
    assert out["whoami"]["body"]["errcode"] == "M_MISSING_TOKEN"
    assert out["versions"]["status"] == 200
    assert out["sync"]["about"] == "sync"
    assert out["sync"]["body"]["errcode"] == "M_MISSING_TOKEN"


def test_sync_subscription_gets_messages_promptly(
    running_server: RunningServer,
) -> None:
    url = running_server.url
    alice, bob = register(url, "alice"), register(url, "bob")
    out = run_isolated("sync_push", url, alice, bob)
    assert out["room_id"] in out["initial_rooms"]
    assert "next_batch" in out["first_keys"] and "rooms" in out["first_keys"]
    assert out["texts"] == ["hello over the socket"]
    assert out["elapsed"] < 2, "the stream should push as soon as the message lands"


def test_requests_over_the_socket(running_server: RunningServer) -> None:
    url = running_server.url
    alice, bob = register(url, "alice"), register(url, "bob")
    out = run_isolated("requests", url, alice, bob)
    assert out["created"]["status"] == 200
    assert out["send"]["status"] == 200
    assert out["send"]["id"] == "r2"
    assert out["send_again"]["body"] == out["send"]["body"]  # same transaction
    assert out["set_state"]["status"] == 200
    assert out["get_state"] == {
        "type": "response",
        "id": out["get_state"]["id"],
        "status": 200,
        "body": {"topic": "socket topic"},
    }
    chunk = out["messages"]["body"]["chunk"]
    assert [e["type"] for e in chunk] == ["m.room.topic"]
    # Errors are exactly what HTTP answers.
    assert out["forbidden"]["status"] == 403
    assert out["forbidden"]["body"]["errcode"] == "M_FORBIDDEN"
    assert [out["forbidden"]["status"], out["forbidden"]["body"]] == list(
        out["forbidden_http"]
    )
    assert out["not_found"]["status"] == 404
    assert out["not_found"]["body"]["errcode"] == "M_NOT_FOUND"
    assert [out["not_found"]["status"], out["not_found"]["body"]] == list(
        out["not_found_http"]
    )
    assert (out["unknown_path"]["status"], out["unknown_path"]["body"]["errcode"]) == (
        404,
        "M_UNRECOGNIZED",
    )
    assert out["wrong_method"]["status"] == 405
    assert out["admin_path"]["status"] == 404  # only client API paths
    assert out["list_body"]["body"]["errcode"] == "M_BAD_JSON"
    assert out["no_body"]["body"]["errcode"] == "M_NOT_JSON"
    assert out["no_id"]["about"] == "message"
    assert out["no_id"]["body"]["errcode"] == "M_BAD_JSON"
    assert out["bad_method"]["status"] == 400
    assert out["unknown_type"]["body"]["errcode"] == "M_UNRECOGNIZED"
    assert out["not_json"]["body"]["errcode"] == "M_NOT_JSON"


def test_ephemeral_endpoints_over_the_socket(running_server: RunningServer) -> None:
    url = running_server.url
    alice = register(url, "alice")
    out = run_isolated("ephemeral_requests", url, alice)
    for name, response in out.items():
        assert response["status"] == 200, (name, response)


def test_ping_pong(running_server: RunningServer) -> None:
    out = run_isolated("ping", running_server.url, register(running_server.url, "a"))
    assert out["first"] == {"type": "pong", "id": "p1"}
    assert out["second"] == {"type": "pong"}


def test_reconnect_from_next_batch_loses_and_repeats_nothing(
    running_server: RunningServer,
) -> None:
    url = running_server.url
    alice, bob = register(url, "alice"), register(url, "bob")
    out = run_isolated("reconnect", url, alice, bob)
    assert out["before"] == ["m1", "m2", "m3"]
    assert out["after"] == ["m4", "m5", "m6", "m7"]
    assert out["stray"] == []


def test_to_device_messages_survive_reconnects(running_server: RunningServer) -> None:
    url = running_server.url
    alice, bob = register(url, "alice"), register(url, "bob")
    out = run_isolated("to_device", url, alice, bob)
    assert out["first"] == [1]
    assert out["again"] == [1], "unacknowledged: delivered again after a reconnect"
    assert out["then"] == [2], "acknowledged: never delivered twice"
    assert out["plain"] == [3, 4]
    assert out["resumed"] == [5]


def test_slow_sync_reader_is_cut_off_and_loses_nothing(
    tight_server: RunningServer,
) -> None:
    url = tight_server.url
    alice, bob = register(url, "alice"), register(url, "bob")
    out = run_isolated("slow_sync_reader", url, alice, bob)
    assert out["close"] == [4008, "slow reader"]
    # The server stopped computing syncs for the stalled socket once 64 KiB
    # of them were unconfirmed (three answers of 30 kB).
    assert out["syncs_while_paused"] <= 3
    assert out["markers"] == [f"big{i:02d}" for i in range(40)]


def test_flooding_reader_is_cut_off_with_bounded_memory(
    tight_server: RunningServer,
) -> None:
    url = tight_server.url
    alice = register(url, "alice")
    _, body = http(url, "POST", "/_matrix/client/v3/createRoom", {}, alice[1])
    room_id = body["room_id"]
    padding = "y" * 30_000
    for i in range(40):
        status, _ = http(
            url,
            "PUT",
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/f{i}",
            {"msgtype": "m.text", "body": f"{i} {padding}"},
            alice[1],
        )
        assert status == 200
    pid = int((tight_server.data_dir / "homeserver.pid").read_text())
    rss_before = _rss_kib(pid)
    out = run_isolated("flood_requests", url, alice, room_id)
    rss_growth_mib = (_rss_kib(pid) - rss_before) / 1024
    assert out["close"] == [4008, "slow reader"]
    # 96 requests of ~1.2 MB each were asked for; what reached the client is
    # what was buffered (kernel + server) when the server gave up.
    assert out["received_bytes"] < 12 * 1024 * 1024, out
    assert rss_growth_mib < 64, rss_growth_mib
    status, _ = http(url, "GET", "/_matrix/client/versions")
    assert status == 200


def test_docs_example_client(running_server: RunningServer) -> None:
    url = running_server.url
    status, body = http(
        url,
        "POST",
        "/_matrix/client/v3/register",
        {
            "username": "example",
            "password": "example password",
            "auth": {"type": "m.login.dummy"},
        },
    )
    assert status == 200, body
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "docs" / "examples" / "ws_client.py"),
            url,
            "example",
            "example password",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hello from the WebSocket example" in result.stdout


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_streams_with_different_inline_filters(running_server: RunningServer) -> None:
    """Two sockets woken by the same events, each with its own inline filter
    (parsed once per stream and shared between syncs), see only their part."""
    url = running_server.url
    alice, bob = register(url, "alice"), register(url, "bob")
    out = run_isolated("filtered_streams", url, alice, bob)
    alice_seen, bob_seen = out[alice[0]], out[bob[0]]
    assert [x for x in alice_seen if x.startswith(("text", "note"))] == [
        "text0",
        "text1",
        "text2",
    ]
    assert "com.example.note" not in alice_seen
    assert [x for x in bob_seen if x.startswith(("text", "note"))] == [
        "note0",
        "note1",
        "note2",
    ]
    assert "m.room.message" not in bob_seen
