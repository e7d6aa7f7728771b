"""Email verification through HTTP against a real SMTP server on loopback
(aiosmtpd, tests/push/mail/smtp_kit.py): a server with verification on, the
requestToken calls, and the code and link read out of the mail."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from tests.push.mail.smtp_kit import Received, SmtpServer
from tests.support.server import FakeResponse, TestServer

BASEURL = "https://chat.example.com"
V3 = "/_matrix/client/v3"
REGISTER_TOKEN = V3 + "/register/email/requestToken"
PASSWORD_TOKEN = V3 + "/account/password/email/requestToken"
THREEPID_TOKEN = V3 + "/account/3pid/email/requestToken"
LIFETIME_S = 600


def email_config(smtp: SmtpServer, **extra: Any) -> dict[str, Any]:
    """Overrides for a server that verifies addresses through ``smtp``."""
    registration = extra.pop("registration", {})
    rate_limiting = extra.pop("rate_limiting", {})
    return {
        "server": {"public_baseurl": BASEURL},
        "registration": registration,
        "rate_limiting": rate_limiting,
        "email": {
            **smtp.config(),
            "enable_tls": False,
            "app_name": "Chatly",
            "notif_from": "%(app)s <verify@example.com>",
            "enable_threepid_validation": True,
            "validation_token_lifetime": f"{LIFETIME_S}s",
            **extra,
        },
    }


def make_email_server(
    make_server: Callable[..., TestServer], smtp: SmtpServer, **extra: Any
) -> TestServer:
    return make_server(email_config(smtp, **extra))


def request_token(
    server: TestServer,
    path: str,
    email: str,
    secret: str = "secret1",
    attempt: int = 1,
    client_ip: str = "127.0.0.1",
    **body: Any,
) -> FakeResponse:
    return server.request(
        "POST",
        path,
        {"email": email, "client_secret": secret, "send_attempt": attempt, **body},
        client_ip=client_ip,
    )


def code_of(mail: Received) -> str:
    """The numeric code of a verification mail (in the text and the subject)."""
    found = re.search(r"Your code: (\d{6})", mail.part("plain"))
    assert found, mail.part("plain")
    assert found.group(1) in str(mail.message["Subject"])
    return found.group(1)


def link_of(mail: Received) -> str:
    """The link of a verification mail, as a path and query on the server."""
    found = re.search(r"(https://\S+/email/validate\?\S+)", mail.part("plain"))
    assert found, mail.part("plain")
    link = found.group(1)
    assert link.startswith(BASEURL + "/_chatly/client/v1/email/validate?")
    # The HTML part links to the same place.
    assert link.replace("&", "&amp;") in mail.part("html")
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def submit_code(
    server: TestServer, submit_url: str, sid: str, code: str, secret: str = "secret1"
) -> FakeResponse:
    """POST the code to the ``submit_url`` of a requestToken answer."""
    assert submit_url == BASEURL + "/_chatly/client/v1/email/submit_token"
    return server.request(
        "POST",
        urlsplit(submit_url).path,
        {"sid": sid, "client_secret": secret, "token": code},
    )


def last_mail(smtp: SmtpServer, to: str) -> Received:
    assert smtp.received, "no mail was sent"
    mail = smtp.received[-1]
    assert mail.rcpt_tos == [to]
    return mail
