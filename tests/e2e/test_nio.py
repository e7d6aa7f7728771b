"""matrix-nio, a real client library, against a server started by synctl."""

from __future__ import annotations

import asyncio

import nio
import pytest

from tests.e2e.conftest import RunningServer

pytestmark = pytest.mark.integration


async def _account_lifecycle(server: RunningServer) -> None:
    client = nio.AsyncClient(server.url, "alice")
    try:
        registered = await client.register("alice", "correct horse battery")
        assert isinstance(registered, nio.RegisterResponse), registered
        assert registered.user_id == "@alice:localhost"
        await client.logout()

        fresh = nio.AsyncClient(server.url, "@alice:localhost")
        try:
            login = await fresh.login("correct horse battery", device_name="e2e laptop")
            assert isinstance(login, nio.LoginResponse), login
            whoami = await fresh.whoami()
            assert isinstance(whoami, nio.WhoamiResponse), whoami
            assert whoami.user_id == "@alice:localhost"
            assert whoami.device_id == login.device_id

            set_name = await fresh.set_displayname("Alice Liddell")
            assert isinstance(set_name, nio.ProfileSetDisplayNameResponse), set_name
            name = await fresh.get_displayname("@alice:localhost")
            assert isinstance(name, nio.ProfileGetDisplayNameResponse), name
            assert name.displayname == "Alice Liddell"

            devices = await fresh.devices()
            assert isinstance(devices, nio.DevicesResponse), devices
            assert [d.display_name for d in devices.devices] == ["e2e laptop"]

            bad = await nio.AsyncClient(server.url, "@alice:localhost").login(
                "wrong password"
            )
            assert isinstance(bad, nio.LoginError)
            assert bad.status_code == "M_FORBIDDEN"

            logout = await fresh.logout()
            assert isinstance(logout, nio.LogoutResponse), logout
            after = await fresh.whoami()
            assert isinstance(after, nio.WhoamiError)
            assert after.status_code == "M_UNKNOWN_TOKEN"
        finally:
            await fresh.close()
    finally:
        await client.close()


def test_register_login_whoami_displayname_logout(
    running_server: RunningServer,
) -> None:
    asyncio.run(_account_lifecycle(running_server))
