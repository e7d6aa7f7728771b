"""Registration with an email address (registration.email) and login with
it (m.id.thirdparty): requestToken, the mail's code, then POST /register
through the m.login.email.identity stage; the account holds the address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.push.mail.smtp_kit import SmtpServer
from tests.support.server import TestServer
from tests.threepids.kit import (
    REGISTER_TOKEN,
    V3,
    code_of,
    last_mail,
    make_email_server,
    request_token,
    submit_code,
)

ADDRESS = "carol@example.org"
PASSWORD = "carols-password"


@pytest.fixture
def smtp(smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    return smtp_server()


def email_login(server: TestServer, address: str, password: str) -> Any:
    return server.request(
        "POST",
        V3 + "/login",
        {
            "type": "m.login.password",
            "identifier": {
                "type": "m.id.thirdparty",
                "medium": "email",
                "address": address,
            },
            "password": password,
        },
    )


def register_with_email(server: TestServer, smtp: SmtpServer, username: str) -> Any:
    first = server.request(
        "POST", V3 + "/register", {"username": username, "password": PASSWORD}
    )
    assert first.code == 401, first.json
    session = first.json["session"]
    resp = request_token(server, REGISTER_TOKEN, ADDRESS)
    assert resp.code == 200, resp.json
    sid = resp.json["sid"]
    auth = {
        "type": "m.login.email.identity",
        "session": session,
        "threepid_creds": {"sid": sid, "client_secret": "secret1"},
    }
    # Not validated yet.
    early = server.request("POST", V3 + "/register", {"auth": auth})
    assert (early.code, early.json["errcode"]) == (401, "M_UNAUTHORIZED")
    code = code_of(last_mail(smtp, ADDRESS))
    assert submit_code(server, resp.json["submit_url"], sid, code).code == 200
    return server.request("POST", V3 + "/register", {"auth": auth})


def test_required_email(
    make_server: Callable[..., TestServer], smtp: SmtpServer
) -> None:
    server = make_email_server(make_server, smtp, registration={"email": "required"})
    first = server.request(
        "POST", V3 + "/register", {"username": "x", "password": PASSWORD}
    )
    assert first.json["flows"] == [{"stages": ["m.login.email.identity"]}]
    # The dummy stage is not offered.
    dummy = server.request(
        "POST",
        V3 + "/register",
        {"auth": {"type": "m.login.dummy", "session": first.json["session"]}},
    )
    assert dummy.code == 400
    done = register_with_email(server, smtp, "carol")
    assert done.code == 200, done.json
    assert done.json["user_id"] == "@carol:test"
    carol_token = done.json["access_token"]
    listed = server.request("GET", V3 + "/account/3pid", token=carol_token)
    assert [t["address"] for t in listed.json["threepids"]] == [ADDRESS]
    # Login with the address, whatever its case.
    ok = email_login(server, "Carol@Example.org", PASSWORD)
    assert (ok.code, ok.json["user_id"]) == (200, "@carol:test")
    wrong = email_login(server, ADDRESS, "wrong-password")
    assert (wrong.code, wrong.json["errcode"]) == (403, "M_FORBIDDEN")
    # An unknown address fails exactly as a wrong password does.
    unknown = email_login(server, "nobody@example.org", PASSWORD)
    assert (unknown.code, unknown.json) == (wrong.code, wrong.json)
    # The address cannot register a second account: the requestToken answers
    # as usual, but the mail says it is in use and has no code.
    again = request_token(server, REGISTER_TOKEN, ADDRESS, secret="secret9")
    assert again.code == 200
    assert "already belongs" in last_mail(smtp, ADDRESS).part("plain")


def test_optional_email(
    make_server: Callable[..., TestServer], smtp: SmtpServer
) -> None:
    server = make_email_server(make_server, smtp, registration={"email": "optional"})
    first = server.request(
        "POST", V3 + "/register", {"username": "dave", "password": PASSWORD}
    )
    assert first.json["flows"] == [
        {"stages": ["m.login.dummy"]},
        {"stages": ["m.login.email.identity"]},
    ]
    plain = server.request(
        "POST",
        V3 + "/register",
        {"auth": {"type": "m.login.dummy", "session": first.json["session"]}},
    )
    assert plain.code == 200
    with_email = register_with_email(server, smtp, "carol")
    assert with_email.code == 200, with_email.json
    assert email_login(server, ADDRESS, PASSWORD).code == 200


def test_registration_email_needs_validation_on(
    make_server: Callable[..., TestServer],
) -> None:
    from homeserver.config.loader import ConfigError

    with pytest.raises(ConfigError, match="registration.email"):
        make_server({"registration": {"email": "required"}})


def test_register_request_token_with_registration_closed(
    make_server: Callable[..., TestServer], smtp: SmtpServer
) -> None:
    server = make_email_server(
        make_server, smtp, registration={"enable_registration": False}
    )
    resp = request_token(server, REGISTER_TOKEN, ADDRESS)
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")
    assert smtp.received == []
