"""Asking application services about users and aliases we do not know
(application-service API v1.19, "Querying": ``GET /users/{userId}`` and
``GET /rooms/{roomAlias}``).

An AS may create a user or room alias of its namespace on demand: a client
that looks up a local user unknown to us, in an AS's exclusive users
namespace (a profile lookup, an invite), or resolves an unknown local alias
in an AS's aliases namespace, makes us ask that AS first; if it answers 200 it
has created them, and the lookup is made again.
"""

from __future__ import annotations

from homeserver.services.appservices.outbound.api_client import AppServiceApi
from homeserver.services.appservices.outbound.target import Registrations
from homeserver.storage.stores.users import UserStore
from homeserver.util.ports import Port


class AppServiceQueries:
    """Queries to the AS whose namespace holds an unknown user or alias.

    Args:
        registrations: the registered application services.
        api: requests to them.
        users: local accounts (whether a user exists).
    """

    def __init__(
        self, registrations: Port[Registrations], api: AppServiceApi, users: UserStore
    ) -> None:
        self.registrations = registrations
        self.api = api
        self.users = users

    async def query_user(self, user_id: str) -> bool:
        """Whether ``user_id`` exists, after asking the AS of the exclusive
        namespace it is in, if it did not."""
        if await self.users.get_user(user_id) is not None:
            return True
        for service in self.registrations.get().all():
            if service.url and service.is_exclusive_user(user_id):
                if await self.api.query_user(service, user_id):
                    return await self.users.get_user(user_id) is not None
        return False

    async def query_alias(self, alias: str) -> bool:
        """Ask each AS whose aliases namespace holds ``alias`` to create it;
        whether one says it did (the caller looks it up again)."""
        for service in self.registrations.get().all():
            if service.url and service.is_interested_in_alias(alias):
                if await self.api.query_alias(service, alias):
                    return True
        return False
