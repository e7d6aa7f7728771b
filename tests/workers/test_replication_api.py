"""The internal replication API: the shared secret and GET .../status."""

from __future__ import annotations

from tests.support.server import TestServer
from tests.workers.replication_kit import (  # noqa: F401 - fixtures
    READER,
    Deployment,
    deployment,
    redis_prefix,
)

STATUS = "/_chatly/replication/status"


def test_status_needs_the_secret(deployment: Deployment) -> None:  # noqa: F811
    reader = deployment.reader
    deployment.settle(lambda: reader.hs.workers.replication.connected)
    secret_file = deployment.tmp_path / "replication.secret"
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32 and secret_file.stat().st_mode & 0o077 == 0
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": secret}):
        response = reader.request("GET", STATUS, headers=headers)
        assert response.code == 403, headers
        assert response.json["errcode"] == "M_FORBIDDEN"
    ok = reader.request("GET", STATUS, headers={"Authorization": f"Bearer {secret}"})
    assert ok.code == 200
    body = ok.json
    assert body["name"] == READER and body["role"] == "client_reader"
    assert isinstance(body["pid"], int) and body["redis"] == "connected"
    assert set(body["positions"]) >= {"events", "typing", "receipts"}
    assert set(body["lag"]["events"]) == {"entries", "seconds"}


def test_one_process_serves_no_replication_api(server: TestServer) -> None:
    response = server.request("GET", STATUS)
    assert response.code == 404
