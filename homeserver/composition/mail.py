"""The mail domain: the SMTP mailer and its templates (shared by every
domain that sends mail), and users' third-party IDs."""

from __future__ import annotations

import attrs

from homeserver.composition.core import Core
from homeserver.services.mail.mailer import Mailer
from homeserver.services.mail.templates import MailTemplates
from homeserver.storage.stores.threepids import ThreepidStore


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
