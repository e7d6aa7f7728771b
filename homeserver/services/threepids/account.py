"""A user's own third-party IDs: GET /account/3pid, /account/3pid/add,
/delete, /bind, /unbind; and the accounts domain's view of them (login by
email, the address proved at registration).

Spec: client-server API, "Adding account administrative contact
information". Binding on identity servers is not done by this server.
"""

from __future__ import annotations

from homeserver.errors import Codes, MatrixError
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.ui_auth import UiaOperation, UserInteractiveAuth
from homeserver.services.accounts.ui_auth_stages import PASSWORD
from homeserver.services.threepids.validation import ThreepidValidationService
from homeserver.signals import AccountDeactivated
from homeserver.storage.stores.threepids import ThreepidAlreadyInUse, ThreepidStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

_NOT_BOUND = {"id_server_unbind_result": "no-support"}


class AccountThreepidService:
    """The /account/3pid endpoints' logic."""

    def __init__(
        self,
        *,
        store: ThreepidStore,
        validation: ThreepidValidationService,
        uia: UserInteractiveAuth,
        clock: Clock,
    ) -> None:
        self.store = store
        self.validation = validation
        self.uia = uia
        self.clock = clock

    async def list_threepids(self, requester: Requester) -> JsonDict:
        """GET /account/3pid."""
        records = await self.store.get_threepids(requester.user_id)
        return {
            "threepids": [
                {
                    "medium": r.medium,
                    "address": r.address,
                    "validated_at": r.validated_at,
                    "added_at": r.added_at,
                }
                for r in records
            ]
        }

    async def add(
        self,
        requester: Requester,
        operation: UiaOperation,
        auth: JsonDict | None,
        clientdict: JsonDict,
        session_id: str,
        client_secret: str,
    ) -> JsonDict:
        """POST /account/3pid/add: behind UIA (the password), the address of
        a validated session joins the account.

        Raises:
            MatrixError: 400 M_THREEPID_AUTH_FAILED without a validated
                session; 400 M_THREEPID_IN_USE if another user holds it.
        """
        self.validation.check_enabled()
        result = await self.uia.authenticate(
            operation, auth, clientdict, [[PASSWORD]], requester
        )
        validated = await self.validation.take_validated(session_id, client_secret)
        if validated is None:
            raise MatrixError(
                400, "No validated 3pid session found", Codes.THREEPID_AUTH_FAILED
            )
        await self._insert(
            requester.user_id,
            validated.medium,
            validated.address,
            int(validated.validated_at or 0),
        )
        await self.uia.finish(result)
        return {}

    async def _insert(
        self, user_id: str, medium: str, address: str, validated_at: int
    ) -> None:
        try:
            await self.store.insert_threepid(
                user_id,
                medium,
                address,
                validated_at=validated_at,
                now=self.clock.time_msec(),
            )
        except ThreepidAlreadyInUse:
            raise MatrixError(
                400, "Email is already in use", Codes.THREEPID_IN_USE
            ) from None

    async def delete(self, requester: Requester, medium: str, address: str) -> JsonDict:
        """POST /account/3pid/delete: 200 whether or not it was there (as
        Synapse); nothing to unbind, as this server binds nothing."""
        await self.store.delete_threepid(requester.user_id, medium, address)
        return dict(_NOT_BOUND)

    async def bind(self, requester: Requester) -> JsonDict:
        """POST /account/3pid/bind: not done by this server."""
        raise MatrixError(
            400,
            "This server does not bind addresses on identity servers",
            Codes.SERVER_NOT_TRUSTED,
        )

    async def unbind(self, requester: Requester) -> JsonDict:
        """POST /account/3pid/unbind: nothing was bound (spec:
        ``no-support``)."""
        return dict(_NOT_BOUND)

    async def on_account_deactivated(self, deactivated: AccountDeactivated) -> None:
        """A deactivated account gives up its addresses (as Synapse): they
        may be registered again, and reset no password."""
        user_id = deactivated.user_id
        for record in await self.store.get_threepids(user_id):
            await self.store.delete_threepid(user_id, record.medium, record.address)

    # AccountThreepids (services/accounts/threepid_port.py)

    async def user_of(self, medium: str, address: str) -> str | None:
        record = await self.store.get_threepid(medium, address)
        return None if record is None else record.user_id

    async def add_registered(
        self, user_id: str, medium: str, address: str, validated_at: int
    ) -> None:
        await self._insert(user_id, medium, address, validated_at)
