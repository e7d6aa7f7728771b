"""matrix-nio syncing against a real server: long-poll wake-ups and room state."""

from __future__ import annotations

import asyncio
import time

import nio
import pytest

from tests.e2e.conftest import RunningServer

pytestmark = pytest.mark.integration

CONFIG = nio.AsyncClientConfig(encryption_enabled=False)


async def _client(server: RunningServer, name: str) -> nio.AsyncClient:
    client = nio.AsyncClient(server.url, name, config=CONFIG)
    registered = await client.register(name, f"{name} long password")
    assert isinstance(registered, nio.RegisterResponse), registered
    return client


async def _story(server: RunningServer) -> None:
    alice = await _client(server, "alice")
    bob = await _client(server, "bob")
    try:
        created = await alice.room_create(name="Sync room", invite=["@bob:localhost"])
        assert isinstance(created, nio.RoomCreateResponse), created
        room_id = created.room_id
        first = await bob.sync(timeout=0)
        assert isinstance(first, nio.SyncResponse), first
        assert room_id in first.rooms.invite
        joined = await bob.join(room_id)
        assert isinstance(joined, nio.JoinResponse), joined
        await bob.sync(timeout=0)
        assert room_id in bob.rooms
        assert bob.rooms[room_id].display_name == "Sync room"

        # Bob long-polls; Alice sends half a second later; Bob wakes at once.
        poll = asyncio.create_task(bob.sync(timeout=30_000))
        await asyncio.sleep(0.5)
        sent_at = time.monotonic()
        await alice.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "hi"}
        )
        woke = await asyncio.wait_for(poll, timeout=10)
        waited = time.monotonic() - sent_at
        assert isinstance(woke, nio.SyncResponse), woke
        texts = [
            e.body
            for e in woke.rooms.join[room_id].timeline.events
            if isinstance(e, nio.RoomMessageText)
        ]
        assert texts == ["hi"]
        assert waited < 5, "the long-poll should answer as soon as the message lands"
        assert bob.rooms[room_id].member_count == 2
    finally:
        await alice.close()
        await bob.close()


def test_long_poll_wakes_on_message(running_server: RunningServer) -> None:
    asyncio.run(_story(running_server))
