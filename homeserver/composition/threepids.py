"""Users' third-party IDs: email verification (requestToken, the code and
the link), /account/3pid/* (binding through the identity server client of
composition/third_party_invites.py), the m.login.email.identity UIA stage and
password reset by email (docs/admin-guide.md, "Email and third-party IDs")."""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.api.client import email_validation, threepids
from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.mail import MailBundle
from homeserver.services.rooms.identity_client import (
    HomeserverSigner,
    IdentityServerClient,
)
from homeserver.services.threepids.account import AccountThreepidService
from homeserver.services.threepids.bindings import ThreepidBindingService
from homeserver.services.threepids.mails import TEMPLATES, VerificationMails
from homeserver.services.threepids.password_reset import PasswordResetService
from homeserver.services.threepids.stage import EMAIL_IDENTITY, EmailIdentityStage
from homeserver.services.threepids.validation import ThreepidValidationService
from homeserver.storage.stores.threepid_bindings import ThreepidBindingStore
from homeserver.storage.stores.threepid_validation import ThreepidValidationStore


@attrs.frozen(kw_only=True)
class ThreepidsBundle:
    """Email verification and users' own third-party IDs."""

    validation: ThreepidValidationService
    account: AccountThreepidService
    password_reset: PasswordResetService

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        accounts: AccountsBundle,
        mail: MailBundle,
        identity: IdentityServerClient,
    ) -> ThreepidsBundle:
        config = core.config
        if config.email.enable_threepid_validation:
            mail.check_templates(TEMPLATES)
        validation = ThreepidValidationService(
            config=config.email,
            registration=config.registration,
            rate_limits=config.rate_limiting,
            store=ThreepidValidationStore(core.db),
            threepids=mail.threepids,
            mails=VerificationMails(
                config=config.email,
                mailer=mail.mailer,
                templates=mail.templates,
                public_baseurl=config.client_base_url(),
            ),
            ratelimiter=core.ratelimiter,
            clock=core.clock,
        )
        # The UIA stage of registration with an address and password reset.
        accounts.uia.checkers[EMAIL_IDENTITY] = EmailIdentityStage(validation)
        return cls(
            validation=validation,
            account=AccountThreepidService(
                store=mail.threepids,
                validation=validation,
                uia=accounts.uia,
                bindings=ThreepidBindingService(
                    identity=identity,
                    signer=HomeserverSigner(core.server_name, core.signing_key),
                    store=ThreepidBindingStore(core.db),
                ),
                clock=core.clock,
            ),
            password_reset=PasswordResetService(
                accounts=accounts.accounts,
                store=mail.threepids,
                validation=validation,
                uia=accounts.uia,
            ),
        )

    def client_endpoints(self, auth: Any) -> list[Any]:
        """requestToken, submit_token and the link, /account/3pid/*."""
        validation, account = self.validation, self.account
        return [
            threepids.RegisterEmailRequestTokenEndpoint(validation),
            threepids.PasswordEmailRequestTokenEndpoint(validation),
            threepids.ThreepidEmailRequestTokenEndpoint(validation),
            threepids.MsisdnRequestTokenEndpoint(),
            threepids.ThreepidListEndpoint(auth, account),
            threepids.ThreepidAddEndpoint(auth, account),
            threepids.ThreepidDeleteEndpoint(auth, account),
            threepids.ThreepidBindEndpoint(auth, account),
            threepids.ThreepidUnbindEndpoint(auth, account),
            email_validation.EmailSubmitTokenEndpoint(validation),
            email_validation.EmailValidateLinkEndpoint(validation),
        ]
