"""Password reset by email: requestToken for the account's address, the
mail's code (or its link, behind a confirmation page), then POST
/account/password without an access token, through m.login.email.identity.
An unknown address answers like a known one and gets no mail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.push.mail.smtp_kit import SmtpServer
from tests.support.server import TestServer
from tests.threepids.kit import (
    PASSWORD_TOKEN,
    V3,
    code_of,
    last_mail,
    link_of,
    make_email_server,
    request_token,
    submit_code,
)

ADDRESS = "alice@example.org"
NEW_PASSWORD = "a-new-password"


@pytest.fixture
def smtp(smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    return smtp_server()


def give_address(server: TestServer, user_id: str, address: str = ADDRESS) -> None:
    now = server.hs.core.clock.time_msec()
    server.get_success(
        server.hs.mail.threepids.insert_threepid(
            user_id, "email", address, validated_at=now, now=now
        )
    )


def reset(server: TestServer, sid: str, **extra: Any) -> Any:
    """POST /account/password without a token: the 401 round, then the
    email stage."""
    first = server.request(
        "POST", V3 + "/account/password", {"new_password": NEW_PASSWORD, **extra}
    )
    assert first.code == 401, first.json
    assert first.json["flows"] == [{"stages": ["m.login.email.identity"]}]
    return server.request(
        "POST",
        V3 + "/account/password",
        {
            "new_password": NEW_PASSWORD,
            **extra,
            "auth": {
                "type": "m.login.email.identity",
                "session": first.json["session"],
                "threepid_creds": {"sid": sid, "client_secret": "secret1"},
            },
        },
    )


def login(server: TestServer, password: str) -> int:
    return server.request(
        "POST",
        V3 + "/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "alice"},
            "password": password,
        },
    ).code


def test_reset_with_the_code_logs_out_devices(
    make_server: Callable[..., TestServer], smtp: SmtpServer
) -> None:
    server = make_email_server(make_server, smtp)
    alice = server.user("alice")
    give_address(server, alice.user_id)
    resp = request_token(server, PASSWORD_TOKEN, ADDRESS)
    assert resp.code == 200
    sid = resp.json["sid"]
    mail = last_mail(smtp, ADDRESS)
    assert "reset the password" in mail.part("plain")
    # Before the code: the stage fails (clients poll it).
    early = reset(server, sid)
    assert (early.code, early.json["errcode"]) == (401, "M_UNAUTHORIZED")
    assert submit_code(server, resp.json["submit_url"], sid, code_of(mail)).code == 200
    done = reset(server, sid)
    assert (done.code, done.json) == (200, {})
    assert login(server, "password123") == 403
    assert login(server, NEW_PASSWORD) == 200
    # logout_devices defaults to true: the old session is gone.
    assert alice.get("/account/whoami").code == 401
    # The validated session was used up.
    assert reset(server, sid).code == 401


def test_reset_keeping_devices_through_the_link(
    make_server: Callable[..., TestServer], smtp: SmtpServer
) -> None:
    server = make_email_server(make_server, smtp)
    alice = server.user("alice")
    give_address(server, alice.user_id)
    sid = request_token(server, PASSWORD_TOKEN, ADDRESS).json["sid"]
    link = link_of(last_mail(smtp, ADDRESS))
    # Following the link only shows a confirmation page (a mail scanner
    # opening it validates nothing)...
    page = server.request("GET", link)
    assert page.code == 200 and '<form method="post"' in page.body.decode()
    assert reset(server, sid).code == 401
    # ...whose button does.
    assert server.request("POST", link).code == 200
    assert reset(server, sid, logout_devices=False).code == 200
    assert alice.get("/account/whoami").code == 200
    assert login(server, NEW_PASSWORD) == 200


def test_unknown_address_answers_like_a_known_one(
    make_server: Callable[..., TestServer], smtp: SmtpServer
) -> None:
    server = make_email_server(make_server, smtp)
    resp = request_token(server, PASSWORD_TOKEN, "nobody@example.org")
    assert resp.code == 200 and set(resp.json) == {"sid", "submit_url"}
    assert smtp.received == []
    # The sid leads nowhere.
    assert reset(server, resp.json["sid"]).code == 401


def test_without_inhibiting_errors_as_synapse(
    make_server: Callable[..., TestServer], smtp: SmtpServer
) -> None:
    server = make_email_server(
        make_server, smtp, request_token_inhibit_3pid_errors=False
    )
    resp = request_token(server, PASSWORD_TOKEN, "nobody@example.org")
    assert (resp.code, resp.json["errcode"]) == (400, "M_THREEPID_NOT_FOUND")
    bob = server.user("bob")
    give_address(server, bob.user_id, "bob@example.org")
    taken = request_token(
        server, V3 + "/account/3pid/email/requestToken", "bob@example.org"
    )
    assert (taken.code, taken.json["errcode"]) == (400, "M_THREEPID_IN_USE")


def test_without_email_a_token_is_needed(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server()
    resp = server.request(
        "POST", V3 + "/account/password", {"new_password": NEW_PASSWORD}
    )
    assert (resp.code, resp.json["errcode"]) == (401, "M_MISSING_TOKEN")


def test_rate_limits_per_address_and_per_ip(
    make_server: Callable[..., TestServer], smtp: SmtpServer
) -> None:
    limit = {"per_second": 0.001, "burst_count": 3}
    server = make_email_server(
        make_server,
        smtp,
        rate_limiting={
            "enabled": True,
            "threepid_validation_per_address": limit,
            "threepid_validation_per_ip": limit,
        },
    )
    alice = server.user("alice")
    give_address(server, alice.user_id)
    # Per address: three mails, then 429 whatever the IP.
    for attempt, ip in enumerate(["10.0.0.1", "10.0.0.2", "10.0.0.3"], start=1):
        ok = request_token(
            server, PASSWORD_TOKEN, ADDRESS, attempt=attempt, client_ip=ip
        )
        assert ok.code == 200
    limited = request_token(
        server, PASSWORD_TOKEN, ADDRESS, attempt=9, client_ip="10.0.0.4"
    )
    assert (limited.code, limited.json["errcode"]) == (429, "M_LIMIT_EXCEEDED")
    assert limited.json["retry_after_ms"] > 0
    assert len(smtp.received) == 3
    # Per IP: three requests for other addresses, then 429.
    for n in range(3):
        other = f"user{n}@example.org"
        assert (
            request_token(server, PASSWORD_TOKEN, other, client_ip="10.0.0.9").code
            == 200
        )
    spare = request_token(
        server, PASSWORD_TOKEN, "user9@example.org", client_ip="10.0.0.9"
    )
    assert spare.code == 429
