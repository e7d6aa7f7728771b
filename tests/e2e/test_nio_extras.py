"""matrix-nio against a real server process: OpenID tokens checked through the
userinfo endpoint, the legacy event stream woken by a message nio sends,
TURN credentials, a guest driven by nio, and a server notice as nio sees it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import aiohttp
import nio
import pytest

from tests.e2e.conftest import RunningServer, synctl_server
from tests.e2e.nio_clients import CONFIG, registered_client
from tests.interop.client import register, request

pytestmark = pytest.mark.integration

SETTINGS = {
    "registration.allow_guest_access": "true",
    "server_notices.system_mxid_localpart": "notices",
    "voip.turn_uris": "['turn:turn.example.com:3478?transport=udp']",
    "voip.turn_shared_secret": "coturn-secret",
    # Both tests register on the one server below, more users from loopback
    # than the per-address registration limit lets through; neither is about
    # rate limits.
    "rate_limiting.enabled": "false",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for both tests (each registers users of its own)."""
    data_dir = tmp_path_factory.mktemp("nio_extras") / "data"
    with synctl_server(data_dir, SETTINGS) as running:
        yield running


async def _get(
    http: aiohttp.ClientSession, url: str, token: str | None = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, headers=headers) as resp:
        return resp.status, await resp.json()


async def _story(server: RunningServer) -> None:
    alice = await registered_client(server, "alice")
    bob = await registered_client(server, "bob")
    http = aiohttp.ClientSession()
    try:
        # OpenID: nio asks for a token; a third party checks it.
        token = await alice.get_openid_token(alice.user_id)
        assert isinstance(token, nio.GetOpenIDTokenResponse), token
        status, info = await _get(
            http,
            f"{server.url}/_matrix/federation/v1/openid/userinfo"
            f"?access_token={token.access_token}",
        )
        assert (status, info) == (200, {"sub": alice.user_id})

        # TURN: coturn's use-auth-secret credentials.
        status, turn = await _get(
            http, f"{server.url}/_matrix/client/v3/voip/turnServer", alice.access_token
        )
        assert status == 200
        mac = hmac.new(b"coturn-secret", turn["username"].encode(), hashlib.sha1)
        assert turn["password"] == base64.b64encode(mac.digest()).decode()

        # The event stream: a long-poll woken by a message nio sends.
        created = await alice.room_create(
            preset=nio.RoomPreset.public_chat,
            initial_state=[
                {
                    "type": "m.room.guest_access",
                    "state_key": "",
                    "content": {"guest_access": "can_join"},
                }
            ],
        )
        assert isinstance(created, nio.RoomCreateResponse), created
        room_id = created.room_id
        assert isinstance(await bob.join(room_id), nio.JoinResponse)
        status, snapshot = await _get(
            http, f"{server.url}/_matrix/client/v3/initialSync", bob.access_token
        )
        assert status == 200
        poll = asyncio.ensure_future(
            _get(
                http,
                f"{server.url}/_matrix/client/v3/events"
                f"?from={snapshot['end']}&timeout=20000",
                bob.access_token,
            )
        )
        await asyncio.sleep(0.3)
        assert not poll.done()
        sent = await alice.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "ping"}
        )
        assert isinstance(sent, nio.RoomSendResponse), sent
        status, stream = await asyncio.wait_for(poll, 10)
        assert status == 200
        assert [e["event_id"] for e in stream["chunk"]] == [sent.event_id]

        # A guest registered over HTTP, then driven by nio.
        async with http.post(
            f"{server.url}/_matrix/client/v3/register?kind=guest", json={}
        ) as resp:
            assert resp.status == 200
            guest_login = await resp.json()
        guest = nio.AsyncClient(server.url, guest_login["user_id"], config=CONFIG)
        guest.access_token = guest_login["access_token"]
        guest.user_id = guest_login["user_id"]
        guest.device_id = guest_login["device_id"]
        try:
            assert isinstance(await guest.join(room_id), nio.JoinResponse)
            said = await guest.room_send(
                room_id, "m.room.message", {"msgtype": "m.text", "body": "hi, guest"}
            )
            assert isinstance(said, nio.RoomSendResponse), said
            synced = await guest.sync(timeout=0)
            assert isinstance(synced, nio.SyncResponse), synced
            assert room_id in synced.rooms.join
            refused = await guest.room_create()
            assert isinstance(refused, nio.RoomCreateError)
            assert refused.status_code == "M_GUEST_ACCESS_FORBIDDEN"
        finally:
            await guest.close()
    finally:
        await http.close()
        await alice.close()
        await bob.close()


def test_extras_with_nio(server: RunningServer) -> None:
    asyncio.run(_story(server))


async def _notices(server: RunningServer) -> None:
    admin = register(server.url, server.shared_secret, "admin", admin=True)
    carol = await registered_client(server, "carol")
    try:
        request(
            "POST",
            f"{server.url}/_synapse/admin/v1/send_server_notice",
            {
                "user_id": carol.user_id,
                "content": {"msgtype": "m.text", "body": "Maintenance at 10:00"},
            },
            token=admin.token,
        )
        first = await carol.sync(timeout=0)
        assert isinstance(first, nio.SyncResponse), first
        invited = list(first.rooms.invite)
        assert len(invited) == 1
        room_id = invited[0]
        assert isinstance(await carol.join(room_id), nio.JoinResponse)
        synced = await carol.sync(timeout=0, full_state=True)
        assert isinstance(synced, nio.SyncResponse), synced
        room = carol.rooms[room_id]
        assert "m.server_notice" in room.tags
        assert room.name == "Server Notices"
        texts = [
            e.body
            for e in synced.rooms.join[room_id].timeline.events
            if isinstance(e, nio.RoomMessageText)
        ]
        assert texts == ["Maintenance at 10:00"]
        refused = await carol.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "reply"}
        )
        assert isinstance(refused, nio.RoomSendError)
    finally:
        await carol.close()


def test_server_notices_with_nio(server: RunningServer) -> None:
    asyncio.run(_notices(server))
