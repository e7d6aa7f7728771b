"""Email pushers (docs/push.md, "Email notifications"): the ``email`` kind
registered on the pusher pool (when ``email.enable_notifs`` is on), and the
unsubscribe link's service (always: links of earlier mail keep working)."""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.api.client.email_unsubscribe import EmailUnsubscribeEndpoint
from homeserver.composition.core import Core
from homeserver.composition.mail import MailBundle
from homeserver.composition.pushers import PushersBundle
from homeserver.services.push.email.content import DigestContent
from homeserver.services.push.email.kind import (
    KIND,
    EmailPusherValidator,
    EmailUnsubscribeService,
)
from homeserver.services.push.email.mails import TEMPLATE, NotifMailer
from homeserver.services.push.email.runner import EmailPusherRunner
from homeserver.services.push.email.unsubscribe import (
    UnsubscribeSigner,
    derive_secret,
)
from homeserver.services.push.pushers.pool import PusherHost, PusherKind
from homeserver.services.push.pushers.service import PusherSetRequest
from homeserver.storage.stores.email_throttle import EmailThrottleStore
from homeserver.storage.stores.profiles import ProfileStore
from homeserver.storage.stores.push_actions import PushActionsStore
from homeserver.storage.stores.pushers import PusherRecord

# Templates checked at start when notifications are on.
TEMPLATES = [TEMPLATE]


@attrs.frozen(kw_only=True)
class EmailPushBundle:
    """Email notifications."""

    notif_mailer: NotifMailer
    unsubscribe: EmailUnsubscribeService
    throttles: EmailThrottleStore
    actions: PushActionsStore

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        mail: MailBundle,
        pushers: PushersBundle,
        profiles: ProfileStore,
    ) -> EmailPushBundle:
        config = core.config.email
        secret = (
            config.unsubscribe_secret.encode()
            if config.unsubscribe_secret
            else derive_secret(core.signing_key.encode())
        )
        signer = UnsubscribeSigner(secret)
        notif_mailer = NotifMailer(
            mailer=mail.mailer,
            templates=mail.templates,
            content=DigestContent(
                events=core.events,
                room_state=core.room_state,
                profiles=profiles,
                client_base_url=config.client_base_url,
            ),
            signer=signer,
            public_baseurl=core.config.client_base_url(),
            app_name=config.app_name,
        )
        throttles = EmailThrottleStore(core.db)
        actions = PushActionsStore(core.db)
        if config.enable_notifs:
            mail.check_templates(TEMPLATES)

            def factory(record: PusherRecord, host: PusherHost) -> EmailPusherRunner:
                return EmailPusherRunner(
                    record=record,
                    host=host,
                    actions=actions,
                    throttles=throttles,
                    mails=notif_mailer,
                    delay_ms=int(config.notif_delay),
                )

            pushers.pool.register_kind(
                PusherKind(
                    name=KIND,
                    factory=factory,
                    validate=EmailPusherValidator(mail.threepids),
                )
            )

        async def remove_pusher(user_id: str, app_id: str, pushkey: str) -> None:
            for record in await pushers.store.get_pushers_by_user(user_id):
                if (record.kind, record.app_id, record.pushkey) == (
                    KIND,
                    app_id,
                    pushkey,
                ):
                    await pushers.service.set_pusher(
                        user_id,
                        None,
                        PusherSetRequest(kind=None, app_id=app_id, pushkey=pushkey),
                    )
                    await throttles.delete_throttles(record.id)

        return cls(
            notif_mailer=notif_mailer,
            unsubscribe=EmailUnsubscribeService(
                signer=signer,
                templates=mail.templates,
                remove_pusher=remove_pusher,
                app_name=config.app_name,
            ),
            throttles=throttles,
            actions=actions,
        )

    def client_endpoints(self) -> list[Any]:
        """GET and POST /_chatly/client/v1/email/unsubscribe."""
        return [EmailUnsubscribeEndpoint(self.unsubscribe)]
