"""The internal replication API: the shared secret and GET .../status."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.server import TestServer

WORKERS = {
    "workers": {
        # Not connected to by this test's server before replication starts.
        "redis_url": "redis://127.0.0.1:6379/0",
        "redis_prefix": "chatly-test-api",
        "instances": [{"name": "reader1", "role": "client_reader", "port": 18101}],
    }
}
STATUS = "/_chatly/replication/status"


def test_status_needs_the_secret(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    server = make_server(WORKERS)
    secret = (tmp_path / "replication.secret").read_text().strip()
    assert len(secret) >= 32
    assert (tmp_path / "replication.secret").stat().st_mode & 0o077 == 0
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": secret}):
        response = server.request("GET", STATUS, headers=headers)
        assert response.code == 403, headers
        assert response.json["errcode"] == "M_FORBIDDEN"
    ok = server.request("GET", STATUS, headers={"Authorization": f"Bearer {secret}"})
    assert ok.code == 200
    body = ok.json
    assert body["name"] == "main" and body["role"] == "main"
    assert isinstance(body["pid"], int)
    assert set(body["positions"]) >= {"events", "typing", "receipts"}
    assert body["redis"] in ("connected", "down")


def test_one_process_serves_no_replication_api(server: TestServer) -> None:
    response = server.request("GET", STATUS)
    assert response.code == 404
