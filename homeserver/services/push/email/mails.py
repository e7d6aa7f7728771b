"""The digest mail of an email pusher: rendered from the ``notif_mail``
templates, with an unsubscribe link (also as List-Unsubscribe, one-click per
RFC 8058), and handed to the mailer."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

import attrs

from homeserver.services.mail.mailer import Mailer
from homeserver.services.mail.message import OutgoingMail
from homeserver.services.mail.templates import MailTemplates
from homeserver.services.push.email.content import DigestContent
from homeserver.services.push.email.digest import subject_and_summary
from homeserver.services.push.email.unsubscribe import PusherKey, UnsubscribeSigner
from homeserver.storage.stores.pushers import PusherRecord

TEMPLATE = "notif_mail"
UNSUBSCRIBE_PATH = "/_chatly/client/v1/email/unsubscribe"


class NotifMailer:
    """Renders and sends digests.

    Args:
        mailer: sends the mail.
        templates: the mail templates.
        content: reads the missed events and room titles.
        signer: signs unsubscribe links.
        public_baseurl: where this server is reached (unsubscribe links).
        app_name: ``email.app_name``.
    """

    def __init__(
        self,
        *,
        mailer: Mailer,
        templates: MailTemplates,
        content: DigestContent,
        signer: UnsubscribeSigner,
        public_baseurl: str,
        app_name: str,
    ) -> None:
        self._mailer = mailer
        self._templates = templates
        self._content = content
        self._signer = signer
        self._public_baseurl = public_baseurl.rstrip("/")
        self._app_name = app_name

    def unsubscribe_url(self, record: PusherRecord) -> str:
        """The link that removes ``record``."""
        token = self._signer.token_for(
            PusherKey(
                user_id=record.user_id, app_id=record.app_id, pushkey=record.pushkey
            )
        )
        return f"{self._public_baseurl}{UNSUBSCRIBE_PATH}?token={quote(token)}"

    async def send_digest(
        self, record: PusherRecord, event_ids_by_room: dict[str, Sequence[str]]
    ) -> bool:
        """Mail the digest of these events to the pusher's address.

        Returns:
            True when sent, or when nothing was left to mail (the events are
            gone); False when the mailer gave up.
        """
        rooms = await self._content.rooms(record.user_id, event_ids_by_room)
        if not rooms:
            return True
        subject, summary = subject_and_summary(self._app_name, rooms)
        unsubscribe = self.unsubscribe_url(record)
        html, text = self._templates.render(
            TEMPLATE,
            {
                "app_name": self._app_name,
                "user_display_name": await self._content.display_name(record.user_id),
                "summary_text": summary,
                "rooms": [attrs.asdict(room, recurse=True) for room in rooms],
                "unsubscribe_link": unsubscribe,
            },
        )
        mail = OutgoingMail(
            to=record.pushkey,
            subject=subject,
            text=text,
            html=html,
            headers={
                "List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            purpose="notif",
        )
        return await self._mailer.send(mail)
