"""The mailer against a real SMTP server on loopback (aiosmtpd): the MIME
message, STARTTLS (required and opportunistic), implicit TLS, AUTH, and the
bounded retries when the server is down or refuses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure

from homeserver.config import parse_config
from homeserver.services.mail.mailer import Mailer
from homeserver.services.mail.message import OutgoingMail
from homeserver.services.mail.templates import MailTemplates
from homeserver.storage.database import inline_runner
from homeserver.util.clock import Clock
from tests.push.mail.smtp_kit import (
    SMTP_PASSWORD,
    SMTP_USER,
    TLS_NAME,
    SmtpServer,
    free_port,
)
from tests.support.server import test_config_dict as config_dict

MAIL = OutgoingMail(
    to="bob@example.org",
    subject="Hello é",
    text="plain body\n",
    html="<p>html body</p>\n",
    headers={"List-Unsubscribe": "<https://example.com/u?token=t>"},
    purpose="test",
)


class MailerHarness:
    """A mailer built from an ``email`` config section, on a fake clock."""

    def __init__(self, email: dict[str, Any]) -> None:
        self.reactor = MemoryReactorClock()
        config = parse_config(config_dict({"email": email}))
        self.mailer = Mailer(
            config=config.email,
            clock=Clock(self.reactor),
            io_runner=inline_runner,
            server_name="example.com",
        )

    def start(self, mail: OutgoingMail = MAIL) -> defer.Deferred[Any]:
        d = defer.ensureDeferred(self.mailer.send(mail))
        self.reactor.advance(0)
        return d

    def send(self, mail: OutgoingMail = MAIL) -> bool:
        results: list[Any] = []
        self.start(mail).addBoth(results.append)
        assert results, "the send is still waiting"
        if isinstance(results[0], Failure):
            results[0].raiseException()
        return bool(results[0])


def test_plain_message_has_both_parts_and_headers(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server()
    harness = MailerHarness(server.config(app_name="Chatly"))
    assert harness.send() is True
    [got] = server.received
    assert got.mail_from == "noreply@localhost"
    assert got.rcpt_tos == ["bob@example.org"]
    message = got.message
    assert message["From"] == "Chatly <noreply@localhost>"
    assert message["To"] == "bob@example.org"
    assert message["Subject"] == "Hello é"
    assert message["List-Unsubscribe"] == "<https://example.com/u?token=t>"
    assert message["Message-ID"].endswith("@example.com>")
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    assert got.part("plain") == "plain body\n"
    assert got.part("html") == "<p>html body</p>\n"
    assert not got.tls


def test_required_starttls_and_auth(
    smtp_server: Callable[..., SmtpServer], smtp_cert: tuple[Path, Path]
) -> None:
    server = smtp_server(cert=smtp_cert, require_starttls=True, auth=True)
    harness = MailerHarness(
        server.config(
            require_transport_security=True,
            tls_ca_file=str(smtp_cert[0]),
            tlsname=TLS_NAME,
            smtp_user=SMTP_USER,
            smtp_pass=SMTP_PASSWORD,
        )
    )
    assert harness.send() is True
    [got] = server.received
    assert got.tls
    assert got.auth_login == SMTP_USER


def test_opportunistic_starttls_checks_the_name(
    smtp_server: Callable[..., SmtpServer], smtp_cert: tuple[Path, Path]
) -> None:
    """STARTTLS when offered; the certificate must name tlsname (by default
    smtp_host, 127.0.0.1, which it does not)."""
    server = smtp_server(cert=smtp_cert)
    trusted = {"tls_ca_file": str(smtp_cert[0])}
    wrong_name = MailerHarness(server.config(**trusted, send_attempts=1))
    assert wrong_name.send() is False
    assert server.received == []
    harness = MailerHarness(server.config(**trusted, tlsname=TLS_NAME))
    assert harness.send() is True
    assert server.received[0].tls


def test_implicit_tls(
    smtp_server: Callable[..., SmtpServer], smtp_cert: tuple[Path, Path]
) -> None:
    server = smtp_server(cert=smtp_cert, implicit_tls=True, auth=True)
    harness = MailerHarness(
        server.config(
            force_tls=True,
            tls_ca_file=str(smtp_cert[0]),
            tlsname=TLS_NAME,
            smtp_user=SMTP_USER,
            smtp_pass=SMTP_PASSWORD,
        )
    )
    assert harness.send() is True
    assert server.received[0].tls
    assert server.received[0].auth_login == SMTP_USER


def test_untrusted_certificate_is_refused(
    smtp_server: Callable[..., SmtpServer], smtp_cert: tuple[Path, Path]
) -> None:
    """Without tls_ca_file the self-signed certificate fails the check: the
    mail is retried, then given up, and nothing raises."""
    server = smtp_server(cert=smtp_cert)
    harness = MailerHarness(server.config(send_attempts=2, retry_interval="1s"))
    d = harness.start()
    harness.reactor.advance(1)
    assert d.called and d.result is False
    assert server.received == []


def test_wrong_password_is_not_retried(
    smtp_server: Callable[..., SmtpServer], smtp_cert: tuple[Path, Path]
) -> None:
    server = smtp_server(cert=smtp_cert, auth=True)
    harness = MailerHarness(
        server.config(
            tls_ca_file=str(smtp_cert[0]),
            tlsname=TLS_NAME,
            smtp_user=SMTP_USER,
            smtp_pass="wrong",
        )
    )
    assert harness.send() is False
    assert server.auth_failures >= 1
    assert server.received == []
    # A permanent refusal: no retry is waiting.
    assert harness.reactor.getDelayedCalls() == []


def test_required_starttls_not_offered(smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    harness = MailerHarness(
        server.config(require_transport_security=True, send_attempts=1)
    )
    assert harness.send() is False
    assert server.received == []


def test_server_down_then_up_is_retried(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    port = free_port()
    harness = MailerHarness(
        {"smtp_host": "127.0.0.1", "smtp_port": port, "retry_interval": "10s"}
    )
    d = harness.start()
    assert not d.called  # the first attempt failed: a retry waits 10s
    harness.reactor.advance(10)
    assert not d.called  # the second too: the next waits 20s
    server = smtp_server(port=port)
    harness.reactor.advance(20)
    assert d.called and d.result is True
    assert len(server.received) == 1


def test_gives_up_after_send_attempts() -> None:
    harness = MailerHarness(
        {
            "smtp_host": "127.0.0.1",
            "smtp_port": free_port(),
            "send_attempts": 3,
            "retry_interval": "10s",
        }
    )
    d = harness.start()
    harness.reactor.advance(10)
    assert not d.called
    harness.reactor.advance(20)
    assert d.called and d.result is False
    assert harness.reactor.getDelayedCalls() == []


def test_admin_template_replaces_the_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "notif_mail.txt").write_text("custom {{ app_name }}\n")
    templates = MailTemplates(str(tmp_path))
    context = {
        "app_name": "<Chatly>",
        "user_display_name": "Bob",
        "summary_text": "s",
        "rooms": [],
        "unsubscribe_link": "https://x/u",
    }
    html, text = templates.render("notif_mail", context)
    assert text == "custom <Chatly>\n"
    # The HTML part is still the shipped one, and escapes what it shows.
    assert "&lt;Chatly&gt;" in html


@pytest.mark.parametrize(
    ("email", "problem"),
    [
        ({"notif_from": "not an address"}, "email.notif_from"),
        ({"smtp_user": "u"}, "email.smtp_pass"),
        (
            {"enable_tls": False, "require_transport_security": True},
            "email.require_transport_security",
        ),
        ({"smtp_port": 0}, "email.smtp_port"),
    ],
)
def test_bad_config_names_the_key(email: dict[str, Any], problem: str) -> None:
    from homeserver.config import ConfigError

    with pytest.raises(ConfigError) as info:
        parse_config(config_dict({"email": email}))
    assert problem in str(info.value)


def test_broken_admin_template_stops_the_server_at_start(
    make_server: Callable[..., Any], tmp_path: Path
) -> None:
    from homeserver.config import ConfigError

    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "notif_mail.html").write_text("{% for room in rooms %}\n<p>\n")
    with pytest.raises(ConfigError) as info:
        make_server({"email": {"enable_notifs": True, "template_dir": str(templates)}})
    assert "email.template_dir: template" in str(info.value)
    assert "notif_mail.html" in str(info.value)
