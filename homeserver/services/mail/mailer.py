"""The mailer: sends an OutgoingMail over SMTP without blocking the reactor,
retrying a bounded number of times; a failure is logged, never raised."""

from __future__ import annotations

import logging
from collections.abc import Callable

from prometheus_client import Counter

from homeserver.config.sections.email import EmailConfig
from homeserver.services.mail.message import OutgoingMail, envelope_sender, to_mime
from homeserver.services.mail.smtp import MailDeliveryError, deliver
from homeserver.storage.database import Runner
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

MAIL_SENT = Counter(
    "homeserver_mail_sent_total",
    "Mail handed to the SMTP server, by purpose and outcome",
    ["purpose", "outcome"],
)

# deliver(config, sender, recipient, payload): blocking; raises MailDeliveryError.
Deliver = Callable[[EmailConfig, str, str, bytes], None]


class Mailer:
    """Sends mail through the configured SMTP server.

    smtplib runs on ``io_runner`` (the io thread pool): see docs/architecture.md
    "The mailer" for why not Twisted's ESMTP client.
    """

    def __init__(
        self,
        *,
        config: EmailConfig,
        clock: Clock,
        io_runner: Runner,
        server_name: str,
        deliver_fn: Deliver = deliver,
    ) -> None:
        self._config = config
        self._clock = clock
        self._io_runner = io_runner
        self._server_name = server_name
        self._deliver = deliver_fn

    @property
    def config(self) -> EmailConfig:
        """The email section this mailer sends with."""
        return self._config

    async def send(self, mail: OutgoingMail) -> bool:
        """Send ``mail``, retrying with a doubling wait after each temporary
        failure, at most ``send_attempts`` times in all.

        Returns:
            True when the SMTP server accepted it; False when it was given up
            (the reason is logged).
        """
        payload = to_mime(
            mail,
            from_header=self._config.from_header(),
            msgid_domain=self._server_name,
            now=self._clock.time(),
        )
        sender = envelope_sender(self._config.from_header())
        wait_s = self._config.retry_interval / 1000
        for attempt in range(1, self._config.send_attempts + 1):
            try:
                await self._io_runner(
                    lambda: self._deliver(self._config, sender, mail.to, payload)
                )
            except Exception as exc:  # noqa: BLE001 - a mail never crashes its caller
                if not isinstance(exc, MailDeliveryError):
                    exc = MailDeliveryError(
                        f"unexpected {type(exc).__name__}: {exc}", permanent=False
                    )
                last = exc.permanent or attempt == self._config.send_attempts
                logger.warning(
                    "mail not sent (attempt %d of %d%s): %s",
                    attempt,
                    self._config.send_attempts,
                    ", giving up" if last else "",
                    exc,
                    extra={"purpose": mail.purpose},
                )
                if last:
                    MAIL_SENT.labels(mail.purpose, "failed").inc()
                    return False
                await self._clock.sleep(wait_s)
                wait_s *= 2
            else:
                MAIL_SENT.labels(mail.purpose, "sent").inc()
                logger.info("mail sent", extra={"purpose": mail.purpose})
                return True
        return False

    def send_in_background(self, mail: OutgoingMail) -> None:
        """Send ``mail`` without waiting for it (failures are logged)."""
        run_in_background(f"mail:{mail.purpose}", self.send(mail))
