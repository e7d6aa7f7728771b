"""Config section: email (the SMTP mailer and email notifications).

Modelled on Synapse's ``email:`` section (docs/configuration.md, "email").
"""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr

import attrs

from homeserver.config.fields import option, port_number, positive
from homeserver.util.structure import Duration, check


@attrs.frozen(kw_only=True)
class EmailConfig:
    """Sending mail over SMTP: email notifications (docs/push.md, "Email
    notifications"), and later verification and password-reset mail."""

    smtp_host: str = option(
        "localhost", doc="The SMTP server (relay) that mail is handed to."
    )
    smtp_port: int = option(
        25,
        doc="Its port: 25 or 587 for SMTP with STARTTLS, 465 for implicit TLS "
        "(force_tls).",
        validator=port_number,
    )
    smtp_user: str | None = option(
        None,
        doc="The user name to log in to the SMTP server with (AUTH). Unset: no login.",
    )
    smtp_pass: str | None = option(
        None, doc="The password that goes with smtp_user.", secret=True
    )
    require_transport_security: bool = option(
        False,
        doc="Require STARTTLS: a server that does not offer it is refused. Off: "
        "STARTTLS is used when the server offers it (opportunistic) unless "
        "enable_tls is off.",
    )
    enable_tls: bool = option(
        True,
        doc="Use STARTTLS when the server offers it. Off: plain text, for a "
        "relay on the same machine (then require_transport_security must be "
        "off).",
    )
    force_tls: bool = option(
        False,
        doc="Implicit TLS (SMTPS, usually port 465): TLS from the first byte "
        "instead of STARTTLS.",
    )
    tlsname: str | None = option(
        None,
        doc="The host name the server's certificate must carry. Unset: smtp_host.",
    )
    tls_ca_file: str | None = option(
        None,
        doc="A PEM file of the CA certificates that the SMTP server's "
        "certificate is checked against. Unset: the system's trust store.",
        example=None,
    )
    smtp_timeout: Duration = option(
        Duration(30_000),
        doc="How long one SMTP conversation may take before it is abandoned "
        "(and retried).",
        example="30s",
        validator=positive,
    )
    send_attempts: int = option(
        4,
        doc="How often one message is tried before it is given up (with a "
        "logged error); a permanent refusal (5xx) is not retried.",
        validator=positive,
    )
    retry_interval: Duration = option(
        Duration(10_000),
        doc="The wait before the first retry of a failed message; each later "
        "retry waits twice as long.",
        example="10s",
        validator=positive,
    )
    notif_from: str = option(
        "%(app)s <noreply@localhost>",
        doc="The From address of the mail the server sends; '%(app)s' becomes "
        "app_name.",
        example="Your Friendly %(app)s Homeserver <noreply@example.com>",
    )
    app_name: str = option(
        "Matrix", doc="The name of the service, in subjects and the From address."
    )
    client_base_url: str | None = option(
        None,
        doc="The web client that links in mail open rooms in, e.g. "
        "'https://app.element.io'; a room link is '<client_base_url>/#/room/"
        "<room_id>'. Unset: matrix.to links, which any client can open.",
        example=None,
    )
    enable_notifs: bool = option(
        False,
        doc="Send email notifications: users may then add email pushers (kind "
        "'email') for their validated email addresses.",
    )
    notif_delay: Duration = option(
        Duration(600_000),
        doc="How long a notifying message must stay unread before it is mailed "
        "(in a digest of everything missed by then).",
        example="10m",
        validator=positive,
    )
    notif_for_new_users: bool = option(
        True,
        doc="Kept for compatibility with Synapse's option of that name: Chatly "
        "never adds email pushers by itself; users add them.",
    )
    template_dir: str | None = option(
        None,
        doc="A directory of templates that replace the shipped ones by file "
        "name (notif_mail.html, notif_mail.txt, ...; see docs/push.md). Unset: "
        "the shipped templates.",
        example=None,
    )
    unsubscribe_secret: str | None = option(
        None,
        doc="The key of the HMAC that signs unsubscribe links. Unset: derived "
        "from the server's signing key (links stay valid across restarts).",
        secret=True,
    )

    enable_threepid_validation: bool = option(
        False,
        doc="Verify email addresses by mail: the requestToken endpoints send a "
        "short numeric code and a link (either one validates), for adding an "
        "address to an account (/account/3pid), for password reset and for "
        "registration with an address (registration.email). Links point at "
        "server.public_baseurl. Off: those endpoints answer 400.",
    )
    validation_token_lifetime: Duration = option(
        Duration(3_600_000),
        doc="How long the code and link of a verification mail stay valid, and "
        "how long a validated address may then be used (to register, add it "
        "or reset the password).",
        example="1h",
        validator=positive,
    )
    validation_code_attempts: int = option(
        5,
        doc="Wrong codes accepted for one verification mail; past that its code "
        "and link no longer work and the client must ask for a new mail.",
        validator=positive,
    )
    next_link_domain_whitelist: list[str] | None = option(
        None,
        doc="If set, the next_link of a requestToken (where the mail's link "
        "leads once validated) must point at one of these host names, else 400 "
        "M_INVALID_PARAM (Synapse's server.next_link_domain_whitelist); [] "
        "refuses every next_link. Unset: any http(s) URL.",
        example=["app.example.com"],
    )
    request_token_inhibit_3pid_errors: bool = option(
        True,
        doc="Answer a requestToken for an address that is (for registration and "
        "adding) or is not (for password reset) in use exactly as for any other "
        "address, so nobody can find out which addresses are registered; the "
        "owner of an address in use gets a mail saying so instead of a code. "
        "Off: 400 M_THREEPID_IN_USE or M_THREEPID_NOT_FOUND, as Synapse's "
        "default.",
    )

    def __attrs_post_init__(self) -> None:
        try:
            _, address = parseaddr(self.from_header())
        except (TypeError, ValueError, KeyError):
            address = ""
        check(
            "@" in address and _is_address(address),
            "notif_from",
            "must be an email address, optionally with a display name",
        )
        check(
            self.enable_tls or not self.require_transport_security,
            "require_transport_security",
            "cannot be on when enable_tls is off",
        )
        check(
            (self.smtp_user is None) or (self.smtp_pass is not None),
            "smtp_pass",
            "is required when smtp_user is set",
        )

    def from_header(self) -> str:
        """The From header: notif_from with the app name filled in."""
        return self.notif_from % {"app": self.app_name}


def _is_address(address: str) -> bool:
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return False
    return True
