from tests.support.server import TestServer


def test_versions(server: TestServer) -> None:
    resp = server.request("GET", "/_matrix/client/versions")
    assert resp.code == 200
    assert "v1.1" in resp.json["versions"]
