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
