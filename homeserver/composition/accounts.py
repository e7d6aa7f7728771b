"""The accounts domain: users, sessions (devices and tokens), registration,
login, user-interactive auth, profiles and the account admin API."""

from __future__ import annotations

import attrs

from homeserver.composition.core import Core
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.admin import (
    RegistrationTokenService,
    SharedSecretRegistrationService,
)
from homeserver.services.accounts.appservice_auth import (
    AppServiceAuth,
    AppServices,
    NoAppServices,
)
from homeserver.services.accounts.auth import Auth
from homeserver.services.accounts.guests import GuestAccounts
from homeserver.services.accounts.login import LoginService
from homeserver.services.accounts.passwords import PasswordHasher
from homeserver.services.accounts.profile import ProfileService
from homeserver.services.accounts.registration import RegistrationService
from homeserver.services.accounts.sessions import SessionService
from homeserver.services.accounts.ui_auth import DummyStage, UserInteractiveAuth
from homeserver.services.accounts.ui_auth_stages import (
    DUMMY,
    PASSWORD,
    REGISTRATION_TOKEN,
    PasswordStage,
    RegistrationTokenStage,
)
from homeserver.storage.stores.devices import DeviceStore
from homeserver.storage.stores.profiles import ProfileStore
from homeserver.storage.stores.registration_tokens import RegistrationTokenStore
from homeserver.storage.stores.tokens import TokenStore
from homeserver.storage.stores.ui_auth import UiAuthStore
from homeserver.storage.stores.users import UserStore


@attrs.frozen(kw_only=True)
class AccountStores:
    """The accounts domain's tables (the devices table is the sessions')."""

    users: UserStore
    profiles: ProfileStore
    devices: DeviceStore
    tokens: TokenStore
    registration_tokens: RegistrationTokenStore
    ui_auth: UiAuthStore

    @classmethod
    def build(cls, *, core: Core) -> AccountStores:
        db = core.db
        return cls(
            users=UserStore(db),
            profiles=ProfileStore(db),
            devices=DeviceStore(db, core.signals.devices_changed),
            tokens=TokenStore(db),
            registration_tokens=RegistrationTokenStore(db),
            ui_auth=UiAuthStore(db),
        )


@attrs.frozen(kw_only=True)
class AccountsBundle:
    """Everything of the accounts domain."""

    stores: AccountStores
    appservices: AppServices
    auth: Auth
    accounts: AccountService
    sessions: SessionService
    uia: UserInteractiveAuth
    registration: RegistrationService
    login: LoginService
    profiles: ProfileService
    registration_token_admin: RegistrationTokenService
    shared_secret_registration: SharedSecretRegistrationService

    @classmethod
    def build(
        cls, *, core: Core, appservices: AppServices | None = None
    ) -> AccountsBundle:
        """The domain (``appservices``: the registered application services,
        which authenticate with their ``as_token``)."""
        config, clock = core.config, core.clock
        appservices = appservices or NoAppServices()
        stores = AccountStores.build(core=core)
        ratelimiter = core.ratelimiter
        accounts = _accounts(core, stores)
        sessions = SessionService(config.auth, stores.tokens, stores.devices, clock)
        uia = _uia(core, stores, accounts)
        auth = Auth(
            stores.tokens,
            stores.devices,
            clock,
            AppServiceAuth(
                core.server_name, appservices, stores.users, stores.devices, clock
            ),
            ratelimiter=ratelimiter,
            admin_failures=config.rate_limiting.admin_failed_attempts,
        )
        profiles = ProfileService(
            core.server_name,
            stores.profiles,
            stores.users,
            core.signals.profile_changed,
        )
        return cls(
            stores=stores,
            appservices=appservices,
            auth=auth,
            accounts=accounts,
            sessions=sessions,
            uia=uia,
            registration=RegistrationService(
                config=config.registration,
                rate_limits=config.rate_limiting,
                accounts=accounts,
                sessions=sessions,
                uia=uia,
                registration_tokens=stores.registration_tokens,
                guests=GuestAccounts(
                    server_name=core.server_name,
                    enabled=config.registration.allow_guest_access,
                    users=stores.users,
                    sessions=sessions,
                    auth=auth,
                    clock=clock,
                ),
                ratelimiter=ratelimiter,
                clock=clock,
                appservices=appservices,
            ),
            login=LoginService(
                config=config.auth,
                rate_limits=config.rate_limiting,
                accounts=accounts,
                sessions=sessions,
                tokens=stores.tokens,
                uia=uia,
                ratelimiter=ratelimiter,
                clock=clock,
                appservices=appservices,
            ),
            profiles=profiles,
            registration_token_admin=RegistrationTokenService(
                stores.registration_tokens, clock
            ),
            shared_secret_registration=SharedSecretRegistrationService(
                secret=config.registration.registration_shared_secret,
                store=stores.ui_auth,
                accounts=accounts,
                sessions=sessions,
                profiles=profiles,
                clock=clock,
            ),
        )


def _accounts(core: Core, stores: AccountStores) -> AccountService:
    """Accounts, with passwords hashed on the blocking runner."""
    config = core.config
    return AccountService(
        server_name=core.server_name,
        config=config.registration,
        users=stores.users,
        devices=stores.devices,
        tokens=stores.tokens,
        hasher=PasswordHasher(config.auth.password_hashing, core.blocking_runner),
        clock=core.clock,
        deactivated=core.signals.account_deactivated,
    )


def _uia(
    core: Core, stores: AccountStores, accounts: AccountService
) -> UserInteractiveAuth:
    """User-interactive auth with its stages."""
    return UserInteractiveAuth(
        stores.ui_auth,
        {
            DUMMY: DummyStage(),
            PASSWORD: PasswordStage(accounts),
            REGISTRATION_TOKEN: RegistrationTokenStage(
                stores.registration_tokens, core.clock
            ),
        },
        core.clock,
        int(core.config.auth.ui_auth_session_timeout),
    )
