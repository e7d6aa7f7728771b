"""docs/api.md lists every federation and key endpoint the server routes."""

from __future__ import annotations

import re
from pathlib import Path

from homeserver.composition.resource import federation_endpoints
from tests.support.server import TestServer

API_DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def documented_name(pattern: str) -> str:
    """The part of a route docs/api.md must mention: everything from the
    version up to the first path parameter (``/v1/query/profile``,
    ``/key/v2/server``)."""
    path = pattern.removeprefix("/_matrix/federation").removeprefix("/_matrix")
    return re.split(r"/\{", path, maxsplit=1)[0]


def test_every_federation_endpoint_is_documented(server: TestServer) -> None:
    docs = API_DOCS.read_text()
    patterns = [
        pattern
        for endpoint in federation_endpoints(server.hs)
        for pattern in endpoint.PATTERNS
    ]
    assert len(patterns) > 20
    missing = sorted(
        {
            p
            for p in patterns
            if not re.search(re.escape(documented_name(p)) + r"(?!\w)", docs)
        }
    )
    assert not missing, f"not in docs/api.md: {missing}"


def test_documented_name() -> None:
    assert documented_name("/_matrix/federation/v1/state_ids/{room_id}") == (
        "/v1/state_ids"
    )
    assert documented_name("/_matrix/key/v2/server/{key_id}") == "/key/v2/server"
    assert documented_name("/_matrix/federation/v1/query/profile") == (
        "/v1/query/profile"
    )


def test_every_documented_federation_path_is_routed(server: TestServer) -> None:
    docs = API_DOCS.read_text()
    routed = {
        re.sub(r"\{[^}]*\}", "{}", pattern)
        for endpoint in federation_endpoints(server.hs)
        for pattern in endpoint.PATTERNS
    }
    documented = {
        re.sub(r"\{[^}]*\}", "{}", path)
        for path in re.findall(r"/_matrix/(?:federation|key)/[^\s`,)]*", docs)
    }
    assert len(documented) > 15
    assert not documented - routed, f"documented, not routed: {documented - routed}"
