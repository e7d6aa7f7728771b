"""Handing one message to the SMTP server with smtplib (blocking: the
mailer runs it on the io thread pool, never on the reactor thread)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from typing import Any

from homeserver.config.sections.email import EmailConfig


class MailDeliveryError(Exception):
    """The message was not accepted.

    Attributes:
        permanent: the server refused it for good (a 5xx answer, or a failed
            login): trying again would not help.
    """

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class _SMTP(smtplib.SMTP):
    """smtplib.SMTP that checks the certificate against ``tls_hostname``
    (smtplib checks the host it connected to, which tlsname may differ from)."""

    tls_hostname: str | None = None

    def starttls(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        # smtplib checks the certificate against self._host, which connect()
        # does not set.
        self._host = self.tls_hostname or ""
        return super().starttls(*args, **kwargs)


class _SMTPSSL(smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL with the same ``tls_hostname`` (implicit TLS)."""

    tls_hostname: str | None = None

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((host, port), timeout)
        return self.context.wrap_socket(sock, server_hostname=self.tls_hostname or host)


def tls_context(config: EmailConfig) -> ssl.SSLContext:
    """The client TLS context: certificates checked against tls_ca_file or the
    system's trust store, host names checked."""
    return ssl.create_default_context(cafile=config.tls_ca_file)


def deliver(config: EmailConfig, sender: str, recipient: str, payload: bytes) -> None:
    """Send ``payload`` from ``sender`` to ``recipient`` (blocking).

    Raises:
        MailDeliveryError: the message was not accepted.
    """
    try:
        _deliver(config, sender, recipient, payload)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailDeliveryError(
            f"the SMTP server refused the login: {exc.smtp_code}", permanent=True
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise MailDeliveryError(
            f"the SMTP server refused the recipient: {codes}",
            permanent=all(code >= 500 for code in codes),
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise MailDeliveryError(
            f"the SMTP server answered {exc.smtp_code}: {exc.smtp_error!r}",
            permanent=exc.smtp_code >= 500,
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailDeliveryError(
            f"cannot reach the SMTP server: {exc}", permanent=False
        ) from None


def _deliver(config: EmailConfig, sender: str, recipient: str, payload: bytes) -> None:
    timeout = config.smtp_timeout / 1000
    client: smtplib.SMTP
    if config.force_tls:
        client = _SMTPSSL(timeout=timeout, context=tls_context(config))
    else:
        client = _SMTP(timeout=timeout)
    client.tls_hostname = config.tlsname or config.smtp_host  # type: ignore[attr-defined]
    client.connect(config.smtp_host, config.smtp_port)
    try:
        client.ehlo_or_helo_if_needed()
        if not config.force_tls and config.enable_tls:
            if client.has_extn("starttls"):
                client.starttls(context=tls_context(config))
                client.ehlo()
            elif config.require_transport_security:
                raise MailDeliveryError(
                    "the SMTP server does not offer STARTTLS, which "
                    "require_transport_security requires",
                    permanent=False,
                )
        if config.smtp_user is not None:
            client.login(config.smtp_user, config.smtp_pass or "")
        client.sendmail(sender, [recipient], payload)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
