"""A real SMTP server on loopback for the mail tests: aiosmtpd in a thread
of its own, optionally with STARTTLS, implicit TLS and AUTH, keeping every
message it accepts. The certificate is a self-signed one made here."""

from __future__ import annotations

import email
import email.policy
import socket
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from homeserver.config.tls import generate_self_signed

SMTP_USER = "mailer"
SMTP_PASSWORD = "s3cret-pass"
# The name in the test certificate.
TLS_NAME = "localhost"


@attrs.frozen
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    auth_login: str | None
    tls: bool

    def part(self, subtype: str) -> str:
        """The decoded text/<subtype> part."""
        for part in self.message.walk():
            if part.get_content_type() == f"text/{subtype}":
                return str(part.get_content()).replace("\r\n", "\n")
        raise AssertionError(f"no text/{subtype} part")


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost`` and its key: (cert, key).
    Clients reach the server at 127.0.0.1 and check the name with
    ``tlsname: localhost``."""
    cert_path = directory / "smtp-cert.pem"
    key_path = directory / "smtp-key.pem"
    generate_self_signed(cert_path, key_path, TLS_NAME)
    return cert_path, key_path


def free_port() -> int:
    """A loopback port nothing listens on (for now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(
        self, smtp: SMTPProtocol, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = getattr(session.auth_data, "login", None)
        self.server.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                auth_login=login.decode() if isinstance(login, bytes) else None,
                tls=smtp.transport is not None
                and smtp.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1.

    Args:
        port: where to listen (default: a free port).
        cert: (cert, key) for STARTTLS (or implicit TLS with ``implicit_tls``).
        require_starttls: refuse mail before STARTTLS.
        auth: require AUTH with SMTP_USER / SMTP_PASSWORD.
        implicit_tls: TLS from the first byte (SMTPS).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        cert: tuple[Path, Path] | None = None,
        require_starttls: bool = False,
        auth: bool = False,
        implicit_tls: bool = False,
    ) -> None:
        import ssl

        self.port = port or free_port()
        self.received: list[Received] = []
        self.auth_failures = 0
        kwargs: dict[str, Any] = {}
        context = None
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
        if implicit_tls:
            kwargs["ssl_context"] = context
        elif context is not None:
            kwargs["tls_context"] = context
            kwargs["require_starttls"] = require_starttls
        if auth:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = True
            # aiosmtpd does not count implicit TLS as TLS for AUTH: the
            # connection is encrypted from the first byte there anyway.
            kwargs["auth_require_tls"] = context is not None and not implicit_tls
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **kwargs
        )

    def _authenticate(
        self,
        server: SMTPProtocol,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == SMTP_USER.encode()
            and auth_data.password == SMTP_PASSWORD.encode()
        )
        if not ok:
            self.auth_failures += 1
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def config(self, **extra: Any) -> dict[str, Any]:
        """The ``email`` config section that sends here."""
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, **extra}
