"""One outgoing mail and its MIME form (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr

import attrs


@attrs.frozen(kw_only=True)
class OutgoingMail:
    """A mail to one recipient, with a plain-text and an HTML body.

    Attributes:
        to: the recipient's address.
        subject: the subject line.
        text: the text/plain part.
        html: the text/html part.
        headers: more headers (e.g. List-Unsubscribe).
        purpose: a short tag for logs and metrics ("notif", "verify", ...).
    """

    to: str
    subject: str
    text: str
    html: str
    headers: Mapping[str, str] = attrs.field(factory=dict)
    purpose: str = "mail"


def envelope_sender(from_header: str) -> str:
    """The bare address of a From header ("App <a@b>" -> "a@b")."""
    return parseaddr(from_header)[1]


def to_mime(
    mail: OutgoingMail, *, from_header: str, msgid_domain: str, now: float
) -> bytes:
    """The mail as a multipart/alternative message, ready for SMTP DATA.

    Args:
        mail: what to send.
        from_header: the From header (display name and address).
        msgid_domain: the domain part of the Message-ID (the server name).
        now: the Date, in seconds since the epoch.
    """
    message = EmailMessage(policy=SMTP)
    message["From"] = from_header
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(now, localtime=False)
    message["Message-ID"] = make_msgid(domain=_host_only(msgid_domain))
    message["Auto-Submitted"] = "auto-generated"
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text, subtype="plain", charset="utf-8")
    message.add_alternative(mail.html, subtype="html", charset="utf-8")
    return message.as_bytes()


def _host_only(server_name: str) -> str:
    """A server name without its port (``example.com:8448`` -> ``example.com``)."""
    if server_name.startswith("["):
        return server_name.split("]")[0] + "]"
    return server_name.rsplit(":", 1)[0] if server_name.count(":") == 1 else server_name
