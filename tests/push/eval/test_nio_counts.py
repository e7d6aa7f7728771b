"""matrix-nio sees push-rule unread counts against a real server process:
notifications and highlights (a mention) in its sync, threads included (and
apart, in ``unread_thread_notifications``, when its sync filter asks), and
the counts reset by the read receipts it sends (threaded and main)."""

from __future__ import annotations

import asyncio
from typing import Any

import nio
import pytest

from tests.conftest import ONE_ENGINE
from tests.e2e.conftest import RunningServer
from tests.e2e.nio_clients import registered_client

pytestmark = pytest.mark.integration
# The push rules' and counts' SQL runs on both engines in process
# (tests/push/rules/test_api.py, tests/push/eval/test_counts.py).
ENGINES = ONE_ENGINE


async def _text(client: nio.AsyncClient, room_id: str, body: str, **extra: Any) -> str:
    sent = await client.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": body, **extra}
    )
    assert isinstance(sent, nio.RoomSendResponse), sent
    return str(sent.event_id)


async def _counts(client: nio.AsyncClient, room_id: str) -> tuple[int, int]:
    synced = await client.sync(full_state=True)
    assert isinstance(synced, nio.SyncResponse), synced
    unread = synced.rooms.join[room_id].unread_notifications
    return unread.notification_count or 0, unread.highlight_count or 0


ThreadCounts = dict[str, tuple[int, int]]
THREADS_APART = {"room": {"timeline": {"unread_thread_notifications": True}}}


async def _thread_counts(
    client: nio.AsyncClient, room_id: str
) -> tuple[tuple[int, int], ThreadCounts]:
    """The main timeline's counts and each thread's, with a sync filter that
    sets ``unread_thread_notifications``."""
    synced = await client.sync(full_state=True, sync_filter=THREADS_APART)
    assert isinstance(synced, nio.SyncResponse), synced
    room = synced.rooms.join[room_id]
    main = room.unread_notifications
    threads = {
        root: (counts.notification_count or 0, counts.highlight_count or 0)
        for root, counts in (room.unread_thread_notifications or {}).items()
    }
    return (main.notification_count or 0, main.highlight_count or 0), threads


async def _receipt(
    client: nio.AsyncClient, room_id: str, event_id: str, thread_id: str
) -> None:
    done = await client.update_receipt_marker(room_id, event_id, thread_id=thread_id)
    assert isinstance(done, nio.UpdateReceiptMarkerResponse), done


async def _story(server: RunningServer) -> None:
    alice = await registered_client(server, "alice")
    bob = await registered_client(server, "bob")
    carol = await registered_client(server, "carol")
    try:
        created = await alice.room_create(name="Counts")
        assert isinstance(created, nio.RoomCreateResponse), created
        room_id = created.room_id
        for guest in (bob, carol):
            assert isinstance(
                await alice.room_invite(room_id, guest.user_id), nio.RoomInviteResponse
            )
            assert isinstance(await guest.join(room_id), nio.JoinResponse)
        assert await _counts(alice, room_id) == (0, 0)

        root = await _text(bob, room_id, "plain")
        mentioned = await _text(
            bob, room_id, "alice, look", **{"m.mentions": {"user_ids": [alice.user_id]}}
        )
        thread = {"m.relates_to": {"rel_type": "m.thread", "event_id": root}}
        await _text(bob, room_id, "in thread 1", **thread)
        last_in_thread = await _text(bob, room_id, "in thread 2", **thread)
        assert await _counts(alice, room_id) == (4, 1)
        assert await _counts(carol, room_id) == (4, 0)
        # Asked for, the thread's notifications are counted apart.
        mention_in_thread = await _text(
            bob,
            room_id,
            "alice?",
            **thread,
            **{"m.mentions": {"user_ids": [alice.user_id]}},
        )
        assert await _thread_counts(alice, room_id) == ((2, 1), {root: (3, 1)})
        assert await _counts(alice, room_id) == (5, 2)

        # A receipt in the thread reads the thread only, up to there.
        await _receipt(alice, room_id, last_in_thread, root)
        assert await _thread_counts(alice, room_id) == ((2, 1), {root: (1, 1)})
        await _receipt(alice, room_id, mention_in_thread, root)
        assert await _thread_counts(alice, room_id) == ((2, 1), {})
        assert await _counts(alice, room_id) == (2, 1)
        # A main-timeline receipt reads the rest.
        await _receipt(alice, room_id, mentioned, "main")
        assert await _counts(alice, room_id) == (0, 0)
        assert await _counts(carol, room_id) == (5, 0)
        # An unthreaded receipt (through /read_markers) reads everything.
        marked = await carol.room_read_markers(
            room_id, mention_in_thread, mention_in_thread
        )
        assert isinstance(marked, nio.RoomReadMarkersResponse), marked
        assert await _counts(carol, room_id) == (0, 0)
    finally:
        for client in (alice, bob, carol):
            await client.close()


def test_nio_sees_counts_and_resets(running_server: RunningServer) -> None:
    asyncio.run(_story(running_server))
