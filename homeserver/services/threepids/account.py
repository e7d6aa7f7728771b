"""A user's own third-party IDs: GET /account/3pid, /account/3pid/add,
/delete, /bind, /unbind; and the accounts domain's view of them (login by
email, the address proved at registration).

Spec: client-server API, "Adding account administrative contact
information". Binding on identity servers: services/threepids/bindings.py.
"""

from __future__ import annotations

from homeserver.errors import Codes, MatrixError
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.ui_auth import UiaOperation, UserInteractiveAuth
from homeserver.services.accounts.ui_auth_stages import PASSWORD
from homeserver.services.threepids.bindings import ThreepidBindingService
from homeserver.services.threepids.validation import ThreepidValidationService
from homeserver.signals import AccountDeactivated
from homeserver.storage.stores.threepids import ThreepidAlreadyInUse, ThreepidStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock


def unbind_result(unbound: bool) -> JsonDict:
    """The ``id_server_unbind_result`` answer of unbind, delete and
    deactivation."""
    return {"id_server_unbind_result": "success" if unbound else "no-support"}


class AccountThreepidService:
    """The /account/3pid endpoints' logic."""

    def __init__(
        self,
        *,
        store: ThreepidStore,
        validation: ThreepidValidationService,
        uia: UserInteractiveAuth,
        bindings: ThreepidBindingService,
        clock: Clock,
    ) -> None:
        self.store = store
        self.validation = validation
        self.uia = uia
        self.bindings = bindings
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

    async def delete(
        self, requester: Requester, medium: str, address: str, id_server: str | None
    ) -> JsonDict:
        """POST /account/3pid/delete: unbind it (on ``id_server``, or where
        it was bound), then remove it; 200 whether or not it was there (as
        Synapse).

        Raises:
            MatrixError: an identity server could not be asked; the address
                stays.
        """
        user_id = requester.user_id
        unbound = await self.bindings.try_unbind(user_id, medium, address, id_server)
        await self.store.delete_threepid(user_id, medium, address)
        return unbind_result(unbound)

    async def bind(
        self,
        requester: Requester,
        id_server: str,
        id_access_token: str,
        sid: str,
        client_secret: str,
    ) -> JsonDict:
        """POST /account/3pid/bind: the identity server binds the address it
        validated in session ``sid`` to the user."""
        await self.bindings.bind(
            requester.user_id, id_server, id_access_token, sid, client_secret
        )
        return {}

    async def unbind(
        self, requester: Requester, medium: str, address: str, id_server: str | None
    ) -> JsonDict:
        """POST /account/3pid/unbind: on ``id_server``, or on every identity
        server the address was bound on (``no-support`` when none is known
        or one does not support it)."""
        unbound = await self.bindings.try_unbind(
            requester.user_id, medium, address, id_server
        )
        return unbind_result(unbound)

    async def unbind_all(self, user_id: str, id_server: str | None) -> bool:
        """Before deactivation: unbind every address the user bound.

        Raises:
            MatrixError: 400 when an identity server could not be asked (as
                Synapse); the account stays active.
        """
        try:
            return await self.bindings.unbind_all(user_id, id_server)
        except MatrixError:
            raise MatrixError(
                400, "Failed to remove threepid from ID server", Codes.UNKNOWN
            ) from None

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
