"""The verification mails: a short numeric code and a link, rendered from
the admin-replaceable templates (``registration``, ``add_threepid``,
``password_reset``, ``already_in_use``)."""

from __future__ import annotations

from urllib.parse import urlencode

from homeserver.config.sections.email import EmailConfig
from homeserver.services.mail.mailer import Mailer
from homeserver.services.mail.message import OutgoingMail
from homeserver.services.mail.templates import MailTemplates

# Where the link of a verification mail points (api/client/email_validation.py).
VALIDATE_PATH = "_chatly/client/v1/email/validate"
# Where clients POST a code (the ``submit_url`` of requestToken answers).
SUBMIT_PATH = "_chatly/client/v1/email/submit_token"

# purpose -> (template, subject); the subject carries the code, so a phone's
# notification shows it.
_KINDS = {
    "register": ("registration", "[{app}] {code} is your verification code"),
    "add_threepid": ("add_threepid", "[{app}] {code} is your verification code"),
    "password_reset": ("password_reset", "[{app}] Password reset code: {code}"),
}
TEMPLATES = [kind[0] for kind in _KINDS.values()] + ["already_in_use"]
PAGES = ["validation_done", "validation_failed", "validation_confirm"]


class VerificationMails:
    """Builds and sends the mails of email verification."""

    def __init__(
        self,
        *,
        config: EmailConfig,
        mailer: Mailer,
        templates: MailTemplates,
        public_baseurl: str,
    ) -> None:
        self._config = config
        self._mailer = mailer
        self._templates = templates
        self._base = public_baseurl.rstrip("/") + "/"

    @property
    def submit_url(self) -> str:
        """Where a client submits the code (``submit_url``)."""
        return self._base + SUBMIT_PATH

    def link(self, session_id: str, client_secret: str, token: str) -> str:
        """The link of a verification mail."""
        query = urlencode(
            {"sid": session_id, "client_secret": client_secret, "token": token}
        )
        return f"{self._base}{VALIDATE_PATH}?{query}"

    def send_code(self, purpose: str, address: str, code: str, link: str) -> None:
        """Send the code and the link to ``address`` (in the background)."""
        template, subject = _KINDS[purpose]
        app = self._config.app_name
        minutes = int(self._config.validation_token_lifetime) // 60_000
        html, text = self._templates.render(
            template,
            {
                "app_name": app,
                "address": address,
                "code": code,
                "link": link,
                "expires_in_minutes": minutes,
            },
        )
        self._mailer.send_in_background(
            OutgoingMail(
                to=address,
                subject=subject.format(app=app, code=code),
                text=text,
                html=html,
                purpose=f"verify_{purpose}",
            )
        )

    def send_already_in_use(self, address: str) -> None:
        """Tell the owner of ``address`` that someone tried to register (or
        add) it again, instead of a code (in the background)."""
        app = self._config.app_name
        html, text = self._templates.render(
            "already_in_use", {"app_name": app, "address": address}
        )
        self._mailer.send_in_background(
            OutgoingMail(
                to=address,
                subject=f"[{app}] This address is already in use",
                text=text,
                html=html,
                purpose="verify_in_use",
            )
        )

    def page(self, name: str, **context: object) -> str:
        """A web page of the link (done, failed, confirm)."""
        return self._templates.render_page(
            name, {"app_name": self._config.app_name, **context}
        )
