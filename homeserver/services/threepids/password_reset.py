"""Password reset by email: POST /account/password without an access token,
behind the UIA stage m.login.email.identity.

Spec: client-server API, "POST /account/password" and "POST
/account/password/email/requestToken".
"""

from __future__ import annotations

from homeserver.errors import Codes, MatrixError
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.ui_auth import UiaOperation, UserInteractiveAuth
from homeserver.services.threepids.stage import EMAIL_IDENTITY, THREEPID_KEY
from homeserver.services.threepids.validation import ThreepidValidationService
from homeserver.storage.stores.threepids import ThreepidStore
from homeserver.types import JsonDict


class PasswordResetService:
    """Sets a new password for whoever proves an address of the account."""

    def __init__(
        self,
        *,
        accounts: AccountService,
        store: ThreepidStore,
        validation: ThreepidValidationService,
        uia: UserInteractiveAuth,
    ) -> None:
        self.accounts = accounts
        self.store = store
        self.validation = validation
        self.uia = uia

    @property
    def enabled(self) -> bool:
        """Whether passwords may be reset by email (without it, POST
        /account/password needs an access token)."""
        return self.validation.config.enable_threepid_validation

    async def reset(
        self,
        operation: UiaOperation,
        auth: JsonDict | None,
        clientdict: JsonDict,
        new_password: str,
        logout_devices: bool,
    ) -> JsonDict:
        """Reset the password of the account holding the proved address;
        every device is logged out when ``logout_devices`` (the default).

        Raises:
            InteractiveAuthIncomplete: 401 until the address is proved.
            MatrixError: 404 if nobody holds the address any more.
        """
        self.validation.check_enabled()
        self.accounts.check_password_strength(new_password)
        result = await self.uia.authenticate(
            operation, auth, clientdict, [[EMAIL_IDENTITY]]
        )
        threepid = result.serverdict[THREEPID_KEY]
        record = await self.store.get_threepid(threepid["medium"], threepid["address"])
        if record is None:
            raise MatrixError(404, "Email address not found", Codes.NOT_FOUND)
        await self.accounts.get_active_user(record.user_id)
        await self.accounts.change_password(
            record.user_id, new_password, None, None, logout_devices
        )
        await self.uia.finish(result)
        return {}
