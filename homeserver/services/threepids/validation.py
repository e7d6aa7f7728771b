"""Email verification: the requestToken endpoints open a session and mail a
numeric code and a link; submitting either validates the session, which one
operation may then use (register, add the address, reset the password).

Spec: client-server API, "POST /register/email/requestToken",
"POST /account/password/email/requestToken", "POST
/account/3pid/email/requestToken"; send_attempt and client_secret as there.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import attrs

from homeserver.config.model import RateLimitConfig
from homeserver.config.sections.accounts import RegistrationConfig
from homeserver.config.sections.email import EmailConfig
from homeserver.errors import Codes, Forbidden, InvalidParam, MatrixError
from homeserver.services.threepids.mails import VerificationMails
from homeserver.storage.stores.threepid_validation import (
    SubmitOutcome,
    ThreepidValidationStore,
    ValidationSession,
)
from homeserver.storage.stores.threepids import ThreepidStore, normalise_address
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.ratelimit import Ratelimiter
from homeserver.util.tokens import hash_token, random_string

REGISTER = "register"
ADD_THREEPID = "add_threepid"
PASSWORD_RESET = "password_reset"

# Spec: client_secret "[0-9a-zA-Z.=_-]", at most 255 characters.
_CLIENT_SECRET = re.compile(r"^[0-9a-zA-Z.=_-]{1,255}$")
# A practical check, as Synapse's validate_email: one @, something either side.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
CODE_DIGITS = 6


@attrs.frozen(kw_only=True)
class TokenRequest:
    """A requestToken body (``EmailRequestTokenBody``, checked for types)."""

    email: str
    client_secret: str
    send_attempt: int
    next_link: str | None = None


def check_client_secret(client_secret: str) -> None:
    """400 M_INVALID_PARAM unless the secret has the spec's grammar."""
    if not _CLIENT_SECRET.match(client_secret):
        raise InvalidParam("Invalid client_secret")


def new_code() -> str:
    """A fresh numeric code."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


class ThreepidValidationService:
    """Opens validation sessions, mails their code and link, checks what
    comes back."""

    def __init__(
        self,
        *,
        config: EmailConfig,
        registration: RegistrationConfig,
        rate_limits: RateLimitConfig,
        store: ThreepidValidationStore,
        threepids: ThreepidStore,
        mails: VerificationMails,
        ratelimiter: Ratelimiter,
        clock: Clock,
    ) -> None:
        self.config = config
        self.registration = registration
        self.rate_limits = rate_limits
        self.store = store
        self.threepids = threepids
        self.mails = mails
        self.ratelimiter = ratelimiter
        self.clock = clock

    def check_enabled(self) -> None:
        """400 M_THREEPID_MEDIUM_NOT_SUPPORTED unless email verification is on."""
        if not self.config.enable_threepid_validation:
            raise MatrixError(
                400,
                "Email verification is not enabled on this server",
                Codes.THREEPID_MEDIUM_NOT_SUPPORTED,
            )

    async def request_token(
        self, purpose: str, request: TokenRequest, client_ip: str
    ) -> JsonDict:
        """One requestToken: mail a code and a link (unless ``send_attempt``
        was already seen for this secret and address).

        An address in use (register, add) or not in use (password reset) gets
        the same answer as any other when ``request_token_inhibit_3pid_errors``
        is on, with a sid that leads nowhere.

        Returns:
            ``{"sid", "submit_url"}``.
        """
        self.check_enabled()
        if purpose == REGISTER and not self.registration.enable_registration:
            raise Forbidden("Registration has been disabled")
        check_client_secret(request.client_secret)
        address = _parse_email(request.email)
        if purpose != PASSWORD_RESET and not self.registration.threepid_allowed(
            "email", address
        ):
            raise MatrixError(
                403,
                "Your email domain is not authorized on this server",
                Codes.THREEPID_DENIED,
            )
        if request.next_link is not None:
            _check_next_link(request.next_link, self.config.next_link_domain_whitelist)
        await self.ratelimiter.check(
            "threepid_validation_ip",
            client_ip,
            self.rate_limits.threepid_validation_per_ip,
        )
        await self.ratelimiter.check(
            "threepid_validation_address",
            address,
            self.rate_limits.threepid_validation_per_address,
        )
        now = self.clock.time_msec()
        lifetime = int(self.config.validation_token_lifetime)
        await self.store.delete_older_than(now - 2 * lifetime)
        holder = await self.threepids.get_threepid("email", address)
        if holder is not None and purpose != PASSWORD_RESET:
            if not self.config.request_token_inhibit_3pid_errors:
                raise MatrixError(400, "Email is already in use", Codes.THREEPID_IN_USE)
            self.mails.send_already_in_use(address)
            return self._answer(random_string(16))
        if holder is None and purpose == PASSWORD_RESET:
            if not self.config.request_token_inhibit_3pid_errors:
                raise MatrixError(400, "Email not found", Codes.THREEPID_NOT_FOUND)
            return self._answer(random_string(16))
        pending = await self.store.get_pending_session(
            purpose, "email", address, request.client_secret
        )
        if pending is not None and request.send_attempt <= pending.last_send_attempt:
            # Spec: the same or an older send_attempt sends nothing new.
            return self._answer(pending.session_id)
        session_id = pending.session_id if pending else random_string(16)
        token, code = random_string(32), new_code()
        next_link = request.next_link
        if next_link is not None:
            # As Synapse: the page the link leads to learns the sid.
            next_link += ("&" if "?" in next_link else "?") + f"sid={session_id}"
        await self.store.upsert_session(
            ValidationSession(
                session_id=session_id,
                purpose=purpose,
                medium="email",
                address=address,
                client_secret=request.client_secret,
                last_send_attempt=request.send_attempt,
                next_link=next_link,
                created_at=pending.created_at if pending else now,
                validated_at=None,
                token_expires_at=now + lifetime,
            ),
            token_hash=hash_token(token),
            code_hash=hash_token(code),
        )
        self.mails.send_code(
            purpose,
            address,
            code,
            self.mails.link(session_id, request.client_secret, token),
        )
        return self._answer(session_id)

    def _answer(self, session_id: str) -> JsonDict:
        return {"sid": session_id, "submit_url": self.mails.submit_url}

    async def session_purpose(self, session_id: str) -> str | None:
        """What the session was opened for (None if unknown)."""
        session = await self.store.get_session(session_id)
        return None if session is None else session.purpose

    async def submit_token(
        self, session_id: str, client_secret: str, token: str
    ) -> ValidationSession:
        """Validate the session with the code or the link's token.

        Raises:
            MatrixError: 400 M_UNKNOWN for an unknown session, a wrong secret,
                or a wrong, used, expired or burnt token (as Synapse, one
                answer for all of them).
        """
        self.check_enabled()
        check_client_secret(client_secret)
        outcome, session = await self.store.submit_token(
            session_id,
            client_secret,
            hash_token(token.strip()),
            now=self.clock.time_msec(),
            max_failures=self.config.validation_code_attempts,
        )
        if outcome is not SubmitOutcome.VALIDATED or session is None:
            raise MatrixError(400, "Validation token not found or has expired")
        return session

    async def take_validated(
        self, session_id: str, client_secret: str
    ) -> ValidationSession | None:
        """The validated session, used up by this call (an address proved
        once is used once), if it was validated within the token lifetime."""
        check_client_secret(client_secret)
        since = self.clock.time_msec() - int(self.config.validation_token_lifetime)
        return await self.store.consume_validated(
            session_id, client_secret, validated_since=since
        )


def _parse_email(email: str) -> str:
    address = normalise_address("email", email)
    if len(address) > 320 or not _EMAIL.match(address):
        raise MatrixError(400, "Unable to parse email address", Codes.INVALID_PARAM)
    return address


def _check_next_link(next_link: str, allowed_hosts: list[str] | None) -> None:
    """Spec: next_link is a URL; as Synapse, only http and https, and only
    to the allowed hosts when the admin lists them."""
    parts = urlsplit(next_link)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidParam("next_link must be an http(s) URL")
    if allowed_hosts is not None and parts.hostname not in allowed_hosts:
        raise InvalidParam("next_link's domain is not in next_link_domain_whitelist")
