"""matrix-nio syncing against a real server: long-poll wake-ups and room state."""

from __future__ import annotations

import asyncio
import time

import nio
import pytest

from tests.e2e.conftest import RunningServer
from tests.e2e.nio_clients import registered_client

pytestmark = pytest.mark.integration


async def _story(server: RunningServer) -> None:
    alice = await registered_client(server, "alice")
    bob = await registered_client(server, "bob")
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
        await _ephemeral_reaches_bob(alice, bob, room_id, woke)
    finally:
        await alice.close()
        await bob.close()


async def _next_sync(client: nio.AsyncClient) -> nio.SyncResponse:
    resp = await asyncio.wait_for(client.sync(timeout=10_000), timeout=15)
    assert isinstance(resp, nio.SyncResponse), resp
    return resp


async def _ephemeral_reaches_bob(
    alice: nio.AsyncClient, bob: nio.AsyncClient, room_id: str, last: nio.SyncResponse
) -> None:
    """Typing, a read receipt and presence cross from Alice to Bob via /sync."""
    message_id = last.rooms.join[room_id].timeline.events[-1].event_id
    typing = await alice.room_typing(room_id, typing_state=True, timeout=10_000)
    assert isinstance(typing, nio.RoomTypingResponse), typing
    resp = await _next_sync(bob)
    notices = [
        e
        for e in resp.rooms.join[room_id].ephemeral
        if isinstance(e, nio.TypingNoticeEvent)
    ]
    assert notices and notices[-1].users == ["@alice:localhost"]

    receipt = await alice.update_receipt_marker(room_id, message_id)
    assert isinstance(receipt, nio.UpdateReceiptMarkerResponse), receipt
    resp = await _next_sync(bob)
    receipts = [
        r
        for e in resp.rooms.join[room_id].ephemeral
        if isinstance(e, nio.ReceiptEvent)
        for r in e.receipts
    ]
    assert any(
        r.event_id == message_id and r.user_id == "@alice:localhost" for r in receipts
    ), receipts

    presence = await alice.set_presence("online", "writing tests")
    assert isinstance(presence, nio.PresenceSetResponse), presence
    for _ in range(3):
        resp = await _next_sync(bob)
        seen = [p for p in resp.presence_events if p.user_id == "@alice:localhost"]
        if seen:
            assert seen[-1].presence == "online"
            assert seen[-1].status_msg == "writing tests"
            break
    else:
        raise AssertionError("Alice's presence never reached Bob")


def test_long_poll_wakes_on_message(running_server: RunningServer) -> None:
    asyncio.run(_story(running_server))
