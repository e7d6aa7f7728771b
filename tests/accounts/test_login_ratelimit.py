"""Login rate limits: per address and failed attempts per account."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import LOGIN, login, make_user, password_auth


def test_login_rate_limited_per_address(make_server: Any) -> None:
    server = make_server(
        {
            "rate_limiting": {
                "enabled": True,
                "login_per_address": {"per_second": 0.5, "burst_count": 2},
            }
        }
    )
    make_user(server)
    assert login(server, "alice").code == 200
    assert login(server, "alice", "wrongpassword").code == 403
    resp = login(server, "alice")
    assert resp.code == 429
    assert resp.json["errcode"] == "M_LIMIT_EXCEEDED"
    assert resp.json["retry_after_ms"] > 0
    assert int(resp.header("Retry-After") or 0) >= 1
    # Another address is not limited; time drains the bucket.
    assert (
        server.request("POST", LOGIN, password_auth("alice"), client_ip="10.0.0.2").code
        == 200
    )
    server.advance(resp.json["retry_after_ms"] / 1000)
    assert login(server, "alice").code == 200


def test_failed_login_attempts_limited_per_account(make_server: Any) -> None:
    server = make_server(
        {
            "rate_limiting": {
                "enabled": True,
                "login_failed_attempts": {"per_second": 0.1, "burst_count": 3},
            }
        }
    )
    make_user(server)
    make_user(server, "bob")
    for i in range(3):
        resp = server.request(
            "POST",
            LOGIN,
            password_auth("alice", "wrongpassword"),
            client_ip=f"10.0.0.{i}",
        )
        assert resp.code == 403
    # Even the right password, from a new address, is refused for now.
    resp = server.request("POST", LOGIN, password_auth("alice"), client_ip="10.0.1.1")
    assert resp.code == 429
    assert resp.json["errcode"] == "M_LIMIT_EXCEEDED"
    assert resp.header("Retry-After")
    # Other accounts are unaffected, and the limit drains with time.
    assert (
        server.request("POST", LOGIN, password_auth("bob"), client_ip="10.0.1.2").code
        == 200
    )
    server.advance(11)
    assert (
        server.request("POST", LOGIN, password_auth("alice"), client_ip="10.0.1.3").code
        == 200
    )


def test_successful_logins_do_not_count_as_failures(make_server: Any) -> None:
    server = make_server(
        {
            "rate_limiting": {
                "enabled": True,
                "login_failed_attempts": {"per_second": 0.01, "burst_count": 1},
                "login_per_account": {"per_second": 100, "burst_count": 100},
                "login_per_address": {"per_second": 100, "burst_count": 100},
            }
        }
    )
    make_user(server)
    for _ in range(5):
        assert login(server, "alice").code == 200
