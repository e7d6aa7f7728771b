"""Guest accounts for tests: the config that allows them, and registering one."""

from __future__ import annotations

from typing import Any

from tests.support.client import User
from tests.support.server import TestServer

REGISTER = "/_matrix/client/v3/register"
GUESTS_ON = {"registration": {"allow_guest_access": True}}


def register_guest(server: TestServer, body: Any = None) -> User:
    """POST /register?kind=guest; the guest's ``User``."""
    resp = server.request("POST", f"{REGISTER}?kind=guest", body)
    assert resp.code == 200, resp.json
    return User(
        server,
        resp.json["user_id"],
        resp.json["access_token"],
        resp.json["device_id"],
    )
