"""The mail domain: the SMTP mailer and its templates (shared by every
domain that sends mail), and users' third-party IDs."""

from __future__ import annotations

import attrs
import jinja2

from homeserver.composition.core import Core
from homeserver.config.loader import ConfigError
from homeserver.services.mail.mailer import Mailer
from homeserver.services.mail.templates import MailTemplates
from homeserver.storage.stores.threepids import ThreepidStore
from homeserver.util.structure import Problem


@attrs.frozen(kw_only=True)
class MailBundle:
    """Sending mail."""

    mailer: Mailer
    templates: MailTemplates
    threepids: ThreepidStore

    @classmethod
    def build(cls, *, core: Core) -> MailBundle:
        config = core.config.email
        return cls(
            mailer=Mailer(
                config=config,
                clock=core.clock,
                io_runner=core.io_runner,
                server_name=core.server_name,
            ),
            templates=MailTemplates(config.template_dir),
            threepids=ThreepidStore(core.db),
        )

    def check_templates(self, names: list[str]) -> None:
        """Load the mail templates ``names`` now: a broken admin template
        stops the server at start, named, rather than failing the first mail.

        Raises:
            ConfigError: a template is missing or does not parse.
        """
        try:
            self.templates.check(names)
        except jinja2.TemplateError as exc:
            where = getattr(exc, "filename", None) or getattr(exc, "name", None) or ""
            line = getattr(exc, "lineno", None)
            at = f"{where}, line {line}" if line else str(where)
            raise ConfigError(
                [Problem("email.template_dir", f"template {at}: {exc.message or exc}")]
            ) from None
