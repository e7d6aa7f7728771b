"""auth.password_hashing.rehash_on_login: a password hash of another scheme or
cost (bcrypt, as imported from Synapse) becomes the configured one at the
next login, and the password keeps working."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import bcrypt

from tests.api.helpers import PASSWORD, login, make_user
from tests.support.server import TestServer


def _stored(server: TestServer, user_id: str) -> str:
    row = server.get_success(
        server.db.run_interaction(
            "test_hash",
            lambda txn: txn.query_one(
                "SELECT password_hash FROM users WHERE user_id = ?", (user_id,)
            ),
        )
    )
    return str(row.password_hash)


def _set_bcrypt(server: TestServer, user_id: str, rounds: int = 4) -> str:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds)).decode()
    server.get_success(
        server.hs.accounts.accounts.users.update_password_hash(user_id, hashed)
    )
    return hashed


def test_bcrypt_hash_becomes_argon2id_at_login(server: TestServer) -> None:
    user_id = make_user(server)
    _set_bcrypt(server, user_id)
    assert login(server, "alice").code == 200
    assert _stored(server, user_id).startswith("$argon2id$")
    assert login(server, "alice").code == 200
    wrong = login(server, "alice", password="not it")
    assert wrong.code == 403


def test_a_wrong_password_rehashes_nothing(server: TestServer) -> None:
    user_id = make_user(server)
    hashed = _set_bcrypt(server, user_id)
    assert login(server, "alice", password="not it").code == 403
    assert _stored(server, user_id) == hashed


def test_rehash_off_keeps_bcrypt(make_server: Callable[..., TestServer]) -> None:
    server = make_server({"auth": {"password_hashing": {"rehash_on_login": False}}})
    user_id = make_user(server)
    hashed = _set_bcrypt(server, user_id)
    assert login(server, "alice").code == 200
    assert _stored(server, user_id) == hashed


def test_bcrypt_of_another_cost_gets_the_configured_cost(
    make_server: Callable[..., TestServer],
) -> None:
    overrides: dict[str, Any] = {"auth": {"password_hashing": {"scheme": "bcrypt"}}}
    server = make_server(overrides)
    user_id = make_user(server)
    same = _stored(server, user_id)
    assert same.startswith("$2b$04$")
    assert login(server, "alice").code == 200
    assert _stored(server, user_id) == same  # already as configured
    _set_bcrypt(server, user_id, rounds=5)
    assert login(server, "alice").code == 200
    assert _stored(server, user_id).startswith("$2b$04$")
