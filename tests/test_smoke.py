import pytest

from tests.support.server import TestServer


@pytest.mark.empty_database
def test_versions(server: TestServer) -> None:
    """A server starting on an empty database migrates it and answers."""
    resp = server.request("GET", "/_matrix/client/versions")
    assert resp.code == 200
    assert "v1.1" in resp.json["versions"]
