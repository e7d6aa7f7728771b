"""Plain (unencrypted) matrix-nio clients registered on a running server, for
the nio end-to-end tests."""

from __future__ import annotations

import nio

from tests.e2e.conftest import RunningServer

CONFIG = nio.AsyncClientConfig(encryption_enabled=False)


async def registered_client(server: RunningServer, name: str) -> nio.AsyncClient:
    """A nio client of a new user ``name``, registered and logged in."""
    client = nio.AsyncClient(server.url, name, config=CONFIG)
    registered = await client.register(name, f"{name} long password")
    assert isinstance(registered, nio.RegisterResponse), registered
    return client


async def shared_room(
    owner: nio.AsyncClient, *others: nio.AsyncClient, name: str
) -> str:
    """A room ``owner`` creates and each of ``others`` joins on invite; its ID."""
    created = await owner.room_create(name=name)
    assert isinstance(created, nio.RoomCreateResponse), created
    for other in others:
        invited = await owner.room_invite(created.room_id, other.user_id)
        assert isinstance(invited, nio.RoomInviteResponse), invited
        assert isinstance(await other.join(created.room_id), nio.JoinResponse)
    return str(created.room_id)
