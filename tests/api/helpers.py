"""Shared request helpers for the accounts/login API tests."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from tests.support.server import SHARED_SECRET, FakeResponse, TestServer

CLIENT = "/_matrix/client/v3"
LOGIN = f"{CLIENT}/login"
REGISTER = f"{CLIENT}/register"
WHOAMI = f"{CLIENT}/account/whoami"
ADMIN = "/_synapse/admin/v1"
PASSWORD = "password123"


def make_user(server: TestServer, localpart: str = "alice") -> str:
    """Create an account without logging in (so no rate-limit bucket is touched)."""
    return str(
        server.get_success(server.hs.accounts.accounts.register(localpart, PASSWORD))
    )


def password_auth(user: str, password: str = PASSWORD) -> dict[str, Any]:
    """An m.login.password auth dict naming ``user``."""
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user},
        "password": password,
    }


def login(
    server: TestServer, user: str, password: str = PASSWORD, **extra: Any
) -> FakeResponse:
    """POST /login with a password and an m.id.user identifier."""
    body = {**password_auth(user, password), **extra}
    return server.request("POST", LOGIN, body)


def login_token(server: TestServer, user: str, **extra: Any) -> str:
    """Log in and return the access token (asserting success)."""
    resp = login(server, user, **extra)
    assert resp.code == 200, resp.json
    return str(resp.json["access_token"])


def uia_request(
    server: TestServer,
    method: str,
    path: str,
    body: dict[str, Any],
    token: str | None,
    auth: dict[str, Any],
) -> FakeResponse:
    """Do a UIA request: the first round must ask for auth, the second sends it."""
    first = server.request(method, path, body, token=token)
    assert first.code == 401, first.json
    session = first.json["session"]
    return server.request(
        method, path, {**body, "auth": {**auth, "session": session}}, token
    )


def whoami(server: TestServer, token: str) -> FakeResponse:
    """GET /account/whoami."""
    return server.request("GET", WHOAMI, token=token)


def count_rows(server: TestServer, table: str) -> int:
    """How many rows ``table`` holds (to check for half-written state)."""
    row = server.get_success(
        server.db.run_interaction(
            "test_count", lambda txn: txn.query_one(f"SELECT COUNT(*) FROM {table}")
        )
    )
    return int(row[0])


def shared_secret_mac(
    nonce: str,
    username: str,
    password: str,
    admin: bool = False,
    secret: str = SHARED_SECRET,
) -> str:
    """The HMAC-SHA1 Synapse's admin registration API expects."""
    message = "\x00".join([nonce, username, password, "admin" if admin else "notadmin"])
    return hmac.new(secret.encode(), message.encode(), hashlib.sha1).hexdigest()
