"""Application services creating and logging in their users.

Spec: application-service API v1.19, "Server admin style permissions":
``POST /register`` and ``POST /login`` with ``type: m.login.application_service``
and the ``as_token``; users outside the AS's namespaces get ``M_EXCLUSIVE``,
and normal users registering inside an exclusive namespace get it too.
"""

from __future__ import annotations

from homeserver.errors import Codes, MatrixError
from homeserver.services.accounts.accounts import AccountService
from homeserver.services.accounts.appservice_auth import (
    AppServiceIdentity,
    AppServices,
)

APPSERVICE_LOGIN = "m.login.application_service"


def appservice_of_token(
    appservices: AppServices, as_token: str | None
) -> AppServiceIdentity:
    """The application service whose ``as_token`` a request carries.

    Raises:
        MatrixError: 401 M_MISSING_TOKEN or M_UNKNOWN_TOKEN (spec).
    """
    if as_token is None:
        raise MatrixError(401, "Missing access token", Codes.MISSING_TOKEN)
    service = appservices.by_token(as_token)
    if service is None:
        raise MatrixError(
            401,
            "Unknown application service token",
            Codes.UNKNOWN_TOKEN,
            additional={"soft_logout": False},
        )
    return service


def check_in_namespace(
    service: AppServiceIdentity, user_id: str, status: int = 400
) -> None:
    """M_EXCLUSIVE (400 on registration, as Synapse; 403 on login) unless
    ``user_id`` is in the AS's users namespaces."""
    if not service.may_act_as(user_id):
        raise MatrixError(
            status,
            "User ID is not in the application service's namespace",
            Codes.EXCLUSIVE,
        )


def check_not_exclusive(appservices: AppServices, user_id: str) -> None:
    """400 M_EXCLUSIVE if an application service claims ``user_id``
    exclusively (normal registration may not take it)."""
    if appservices.exclusive_owner_of_user(user_id) is not None:
        raise MatrixError(
            400,
            "This user ID is reserved by an application service",
            Codes.EXCLUSIVE,
        )


async def register_appservice_user(
    accounts: AccountService,
    appservices: AppServices,
    service: AppServiceIdentity,
    username: str | None,
) -> str:
    """Create a user of the AS's namespace (no password, no UIA).

    Raises:
        MatrixError: 400 M_MISSING_PARAM, M_INVALID_USERNAME, M_USER_IN_USE,
            or M_EXCLUSIVE outside its namespace or inside another AS's
            exclusive one.
    """
    if not username:
        raise MatrixError(400, "Missing username", Codes.MISSING_PARAM)
    localpart = username.lower()
    if localpart.startswith("@"):
        localpart = localpart[1:].split(":", 1)[0]
    user_id = accounts.user_id_for(localpart)
    check_in_namespace(service, user_id)
    owner = appservices.exclusive_owner_of_user(user_id)
    if owner is not None and owner.id != service.id:
        raise MatrixError(
            400,
            "This user ID is reserved by another application service",
            Codes.EXCLUSIVE,
        )
    return await accounts.register(localpart, None)
