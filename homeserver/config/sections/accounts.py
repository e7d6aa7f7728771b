"""Config sections: registration, password hashing, JWT and token login, auth."""

from __future__ import annotations

import re
from typing import Any, Literal

import attrs

from homeserver.config.fields import option, positive
from homeserver.util.structure import Duration, check


def _regex(_inst: Any, _attribute: attrs.Attribute, value: str) -> None:
    """Validator: a regular expression Python compiles."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None


@attrs.frozen(kw_only=True)
class AllowedThreepid:
    """Third-party IDs that may be added to accounts or registered with."""

    medium: str = option(doc="The medium ('email').", example="email")
    pattern: str = option(
        doc="A regular expression the whole address is matched against from "
        "its start (as Synapse's re.match).",
        example="^[^@]+@example\\.com$",
        validator=_regex,
    )

    def allows(self, medium: str, address: str) -> bool:
        """Whether this entry lets ``address`` of ``medium`` in."""
        return medium == self.medium and re.match(self.pattern, address) is not None


@attrs.frozen(kw_only=True)
class RegistrationConfig:
    """Who may create accounts."""

    enable_registration: bool = option(
        False, doc="Allow anyone to register through /register. Off by default."
    )
    registration_requires_token: bool = option(
        False,
        doc="Registration needs a token created by an admin (m.login.registration_token).",
    )
    registration_shared_secret: str | None = option(
        None,
        doc="Secret for the shared-secret admin registration endpoint "
        "(/_synapse/admin/v1/register), used by 'synctl register-user'.",
        secret=True,
    )
    email: Literal["disabled", "optional", "required"] = option(
        "disabled",
        doc="Email addresses at registration (the UIA stage "
        "m.login.email.identity, which needs email.enable_threepid_validation): "
        "'required': every new account proves an address; 'optional': the "
        "client may add one; 'disabled': registration does not offer it.",
    )
    allowed_local_3pids: list[AllowedThreepid] = option(
        factory=list,
        doc="If not empty, only addresses that match one of these entries may be "
        "added to an account or registered with (their requestToken answers "
        "403 M_THREEPID_DENIED), as Synapse's option of that name; password "
        "reset is not affected. Each entry is {medium, pattern}, e.g. "
        "{medium: email, pattern: '^[^@]+@example\\.com$'}.",
    )

    def threepid_allowed(self, medium: str, address: str) -> bool:
        """Whether allowed_local_3pids lets the address in (empty: all)."""
        return not self.allowed_local_3pids or any(
            entry.allows(medium, address) for entry in self.allowed_local_3pids
        )

    password_min_length: int = option(8, doc="Shortest password accepted.")
    allow_guest_access: bool = option(
        False,
        doc="Allow guest accounts (POST /register?kind=guest): no password, a "
        "limited set of endpoints (everything else is 403 "
        "M_GUEST_ACCESS_FORBIDDEN), only rooms whose m.room.guest_access is "
        "can_join; a guest can later register as a full account. Off by "
        "default, as in Synapse.",
    )


@attrs.frozen(kw_only=True)
class PasswordHashingConfig:
    """How passwords are hashed."""

    scheme: Literal["argon2id", "bcrypt"] = option(
        "argon2id", doc="The hash for new passwords."
    )
    argon2_time_cost: int = option(3, doc="argon2id iterations.", validator=positive)
    argon2_memory_cost_kib: int = option(
        65536, doc="argon2id memory in KiB.", validator=positive
    )
    argon2_parallelism: int = option(4, doc="argon2id lanes.", validator=positive)
    bcrypt_rounds: int = option(12, doc="bcrypt log2 cost.", validator=positive)
    rehash_on_login: bool = option(
        True,
        doc="Re-hash a password when it is checked at login and its stored hash "
        "is of another scheme or cost than the above (e.g. bcrypt hashes "
        "imported from Synapse become argon2id on each user's next login).",
    )


@attrs.frozen(kw_only=True)
class JwtConfig:
    """JSON Web Token login (m.login.jwt)."""

    enabled: bool = option(False, doc="Accept m.login.jwt logins.")
    secret: str | None = option(
        None,
        doc="The HMAC secret, or the PEM public key for RS*/ES* algorithms.",
        secret=True,
    )
    algorithm: str = option(
        "HS256", doc="The expected JWT algorithm, e.g. HS256 or RS256."
    )
    subject_claim: str = option(
        "sub", doc="The claim holding the user's localpart or ID."
    )
    issuer: str | None = option(None, doc="When set, the iss claim must equal it.")
    audiences: list[str] = option(
        factory=list, doc="When set, the aud claim must name one of these."
    )

    def __attrs_post_init__(self) -> None:
        check(
            not self.enabled or bool(self.secret), "secret", "is required when enabled"
        )


@attrs.frozen(kw_only=True)
class TokenLoginConfig:
    """m.login.token issued by /login/get_token to an existing session."""

    enabled: bool = option(
        False, doc="Allow signed-in devices to mint one-time login tokens."
    )
    require_ui_auth: bool = option(True, doc="Ask for the password before minting one.")
    token_timeout: Duration = option(
        Duration(120_000), doc="How long a login token stays valid.", example="2m"
    )


@attrs.frozen(kw_only=True)
class AuthConfig:
    """Logins, tokens and sessions."""

    access_token_lifetime: Duration = option(
        Duration(300_000),
        doc="Lifetime of access tokens issued with a refresh token (clients that "
        "send refresh_token: true). Other access tokens do not expire.",
        example="5m",
    )
    refresh_token_lifetime: Duration | None = option(
        None, doc="Lifetime of refresh tokens; unset means they last until used."
    )
    ui_auth_session_timeout: Duration = option(
        Duration(900_000),
        doc="How long a user-interactive auth session lasts.",
        example="15m",
    )
    password_hashing: PasswordHashingConfig = option(
        factory=PasswordHashingConfig, doc="Password hashing."
    )
    jwt: JwtConfig = option(factory=JwtConfig, doc="JWT login.")
    token_login: TokenLoginConfig = option(factory=TokenLoginConfig, doc="Token login.")
