"""Binding users' addresses on identity servers: POST /account/3pid/bind,
and unbinding for /account/3pid/unbind, /account/3pid/delete and
deactivation.

Spec: client-server API, "Adding account administrative contact
information"; identity service API v2, "Establishing associations". As
Synapse (handlers/identity.py): the bind is proxied with the client's
id_access_token and remembered (table ``user_threepid_bindings``); an unbind
without an ``id_server`` goes to every identity server the address was bound
on, signed by this homeserver.
"""

from __future__ import annotations

from homeserver.services.rooms.identity_client import (
    HomeserverSigner,
    IdentityServerClient,
)
from homeserver.storage.stores.threepid_bindings import ThreepidBindingStore


class ThreepidBindingService:
    """Binds and unbinds users' addresses on identity servers."""

    def __init__(
        self,
        *,
        identity: IdentityServerClient,
        signer: HomeserverSigner,
        store: ThreepidBindingStore,
    ) -> None:
        self.identity = identity
        self.signer = signer
        self.store = store

    async def bind(
        self,
        user_id: str,
        id_server: str,
        id_access_token: str,
        sid: str,
        client_secret: str,
    ) -> None:
        """Bind the address the identity server validated (session ``sid``)
        to ``user_id``, and remember where.

        Raises:
            MatrixError: the identity server's error (passed on), 403 for a
                refused access token or address, 502 when unreachable.
        """
        bound = await self.identity.bind(
            id_server, id_access_token, sid, client_secret, user_id
        )
        await self.store.insert_binding(user_id, bound.medium, bound.address, id_server)

    async def try_unbind(
        self, user_id: str, medium: str, address: str, id_server: str | None
    ) -> bool:
        """Unbind ``address`` of ``user_id`` on ``id_server``, or on every
        identity server it was bound on when None.

        Returns:
            True when every identity server asked unbound it; False when one
            does not support unbinding, or none is known (``no-support``).

        Raises:
            MatrixError: an identity server could not be asked (the
                bindings it holds stay recorded).
        """
        if id_server is not None:
            id_servers = [id_server]
        else:
            id_servers = await self.store.get_id_servers(user_id, medium, address)
        if not id_servers:
            return False
        unbound = True
        for server in id_servers:
            unbound &= await self.identity.unbind(
                server, self.signer, user_id, medium, address
            )
            await self.store.delete_binding(user_id, medium, address, server)
        return unbound

    async def unbind_all(self, user_id: str, id_server: str | None) -> bool:
        """Unbind every address ``user_id`` bound (deactivation): on
        ``id_server``, or where each was bound when None.

        Returns:
            Whether every identity server asked supported it (True when
            nothing was bound, as Synapse).
        """
        unbound = True
        for medium, address in await self.store.get_bound_threepids(user_id):
            unbound &= await self.try_unbind(user_id, medium, address, id_server)
        return unbound
