"""Every admin API endpoint (``/_synapse/admin/...``) checks the ``admin``
flag: without a token 401 M_MISSING_TOKEN, with a non-admin's token 403
M_FORBIDDEN, whatever the method. Only Synapse's open ones are exempt. A new
admin endpoint is covered without being listed here."""

from __future__ import annotations

import re
from collections.abc import Callable

from homeserver.api.http.router import HTTP_METHODS
from homeserver.composition.resource import client_endpoints
from tests.support.server import TestServer

# Open as in Synapse: shared-secret registration (its own HMAC) and the
# server version.
OPEN = {"SharedSecretRegisterEndpoint", "ServerVersionEndpoint"}
NO_LIMIT = {
    "rate_limiting": {
        "admin_failed_attempts": {"per_second": 1000, "burst_count": 100000}
    }
}


def _path(pattern: str) -> str:
    return re.sub(
        r"\{(\w+)\}", lambda m: "@x:test" if "user" in m.group(1) else "x", pattern
    )


def test_every_admin_endpoint_needs_an_admin(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server(NO_LIMIT)
    _, alice = server.register("alice")
    checked = 0
    for endpoint in client_endpoints(server.hs):
        name = type(endpoint).__name__
        patterns = [p for p in endpoint.PATTERNS if p.startswith("/_synapse/admin")]
        if not patterns or name in OPEN:
            continue
        for method in HTTP_METHODS:
            if not hasattr(endpoint, f"on_{method}"):
                continue
            path = _path(patterns[0])
            body = None if method in ("GET", "DELETE") else {}
            anonymous = server.request(method, path, body)
            assert (anonymous.code, anonymous.json.get("errcode")) == (
                401,
                "M_MISSING_TOKEN",
            ), f"{method} {path} ({name})"
            refused = server.request(method, path, body, token=alice)
            assert (refused.code, refused.json.get("errcode")) == (
                403,
                "M_FORBIDDEN",
            ), f"{method} {path} ({name})"
            checked += 1
    assert checked > 70, checked
