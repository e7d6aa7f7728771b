"""Application services as clients: the ``as_token`` and identity assertion.

Spec: application-service API v1.19, "Client-Server API Extensions",
"Identity assertion": the AS authenticates with its ``as_token`` and acts as
its sender, or as ``user_id`` of its users namespaces, optionally with
``device_id`` (added in v1.17, MSC4326) of a device of that user.

The accounts domain declares what it needs of the registrations here
(``AppServices``); the registry of ``services/appservices`` fulfils it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from homeserver.errors import Codes, Forbidden, MatrixError
from homeserver.storage.stores.devices import DeviceStore
from homeserver.storage.stores.users import UserAlreadyExists, UserStore
from homeserver.types import UserID
from homeserver.util.clock import Clock


class AppServiceIdentity(Protocol):
    """One registered application service, as authentication sees it."""

    @property
    def id(self) -> str:
        """The registration's ``id``."""

    @property
    def sender(self) -> str:
        """The user ID of its ``sender_localpart``."""

    @property
    def rate_limited(self) -> bool:
        """Whether rate limits apply to it."""

    def may_act_as(self, user_id: str) -> bool:
        """Whether ``user_id`` is the sender or in its users namespaces."""

    def is_exclusive_user(self, user_id: str) -> bool:
        """Whether it claims ``user_id`` exclusively."""

    def is_exclusive_alias(self, alias: str) -> bool:
        """Whether it claims ``alias`` exclusively."""

    def is_interested_in_alias(self, alias: str) -> bool:
        """Whether ``alias`` is in its aliases namespaces."""


class AppServices(Protocol):
    """The registered application services."""

    def all(self) -> Sequence[AppServiceIdentity]:
        """Every registration."""

    def by_token(self, as_token: str) -> AppServiceIdentity | None:
        """The registration whose ``as_token`` this is."""

    def by_id(self, appservice_id: str) -> AppServiceIdentity | None:
        """The registration with this ``id``."""

    def exclusive_owner_of_user(self, user_id: str) -> AppServiceIdentity | None:
        """The registration that claims ``user_id`` exclusively."""

    def exclusive_owner_of_alias(self, alias: str) -> AppServiceIdentity | None:
        """The registration that claims ``alias`` exclusively."""


class NoAppServices:
    """No application service is registered."""

    def all(self) -> Sequence[AppServiceIdentity]:
        return ()

    def by_token(self, as_token: str) -> AppServiceIdentity | None:
        return None

    def by_id(self, appservice_id: str) -> AppServiceIdentity | None:
        return None

    def exclusive_owner_of_user(self, user_id: str) -> AppServiceIdentity | None:
        return None

    def exclusive_owner_of_alias(self, alias: str) -> AppServiceIdentity | None:
        return None


def check_alias_namespace(
    appservices: AppServices, app_service_id: str | None, alias: str
) -> None:
    """Whether a requester may create or delete ``alias`` (Synapse's rules):
    an application service only inside its aliases namespaces, and nobody in
    another application service's exclusive aliases namespace.

    Raises:
        MatrixError: 400 M_EXCLUSIVE.
    """
    service = appservices.by_id(app_service_id) if app_service_id else None
    if service is not None and not service.is_interested_in_alias(alias):
        raise MatrixError(
            400,
            "This application service has not reserved this kind of alias",
            Codes.EXCLUSIVE,
        )
    owner = appservices.exclusive_owner_of_alias(alias)
    if owner is not None and (service is None or owner.id != service.id):
        raise MatrixError(
            400, "This alias is reserved by an application service", Codes.EXCLUSIVE
        )


class AppServiceAuth:
    """Resolves an application service's request to the user and device it
    acts as."""

    def __init__(
        self,
        server_name: str,
        appservices: AppServices,
        users: UserStore,
        devices: DeviceStore,
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.appservices = appservices
        self.users = users
        self.devices = devices
        self.clock = clock
        # Senders known to exist: not looked up again on every request.
        self._senders: set[str] = set()

    async def acting_as(
        self, service: AppServiceIdentity, user_id: str | None, device_id: str | None
    ) -> tuple[UserID, str]:
        """The user and device (``""``: none) an AS request acts as.

        Raises:
            MatrixError: 400 M_INVALID_PARAM (bad user ID), 403 M_EXCLUSIVE
                (outside its namespace), 403 M_FORBIDDEN (a user it has not
                registered), 400 M_UNKNOWN_DEVICE (a device not the user's).
        """
        target = user_id or service.sender
        user = UserID.parse(target)
        if user.domain != self.server_name or not service.may_act_as(target):
            raise MatrixError(
                403,
                "Application service cannot masquerade as this user",
                Codes.EXCLUSIVE,
            )
        if target == service.sender:
            await self._ensure_sender(target)
        else:
            info = await self.users.get_user(target)
            if info is None or info.deactivated:
                raise Forbidden("Application service has not registered this user")
        if device_id is None:
            return user, ""
        if await self.devices.get_device(target, device_id) is None:
            raise MatrixError(400, "Unknown device for this user", Codes.UNKNOWN_DEVICE)
        return user, device_id

    async def _ensure_sender(self, sender: str) -> None:
        # The sender user exists from the AS's first request on (Synapse
        # registers it at start-up).
        if sender in self._senders:
            return
        if await self.users.get_user(sender) is None:
            try:
                await self.users.insert_user(sender, None, self.clock.time_msec())
            except UserAlreadyExists:
                pass
        self._senders.add(sender)
