"""matrix-nio and "delete for me" (docs/extensions/delete-for-me.md): a user
hides a message on one device; their other device learns of it through the
room account data in its next sync, and its sync and history no longer show
the message; undo brings it back. Another member is not affected."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import nio
import pytest

from tests.e2e.conftest import RunningServer

pytestmark = pytest.mark.integration

CONFIG = nio.AsyncClientConfig(encryption_enabled=False)
PASSWORD = "a long enough password"


async def _hidden(client: nio.AsyncClient, method: str, room: str, event: str) -> int:
    """PUT or DELETE /_chatly/client/v1/rooms/{roomId}/hidden/{eventId}."""
    path = f"/_chatly/client/v1/rooms/{quote(room)}/hidden/{quote(event)}"
    resp = await client.send(
        method,
        path,
        "{}",
        headers={
            "Authorization": f"Bearer {client.access_token}",
            "Content-Type": "application/json",
        },
    )
    assert resp.status == 200, await resp.text()
    return resp.status


def _timeline_ids(sync: nio.SyncResponse, room_id: str) -> list[str]:
    room = sync.rooms.join.get(room_id)
    return [e.event_id for e in room.timeline.events] if room else []


def _hidden_list(sync: nio.SyncResponse, room_id: str) -> list[str] | None:
    room = sync.rooms.join.get(room_id)
    for event in room.account_data if room else []:
        if isinstance(event, nio.UnknownAccountDataEvent) and (
            event.type == "chatly.hidden_events"
        ):
            return list(event.content["event_ids"])
    return None


async def _history(client: nio.AsyncClient, room_id: str) -> list[str]:
    resp = await client.room_messages(room_id, limit=50)
    assert isinstance(resp, nio.RoomMessagesResponse), resp
    return [e.event_id for e in resp.chunk]


async def _story(server: RunningServer) -> None:
    laptop = nio.AsyncClient(server.url, "alice", config=CONFIG)
    phone = nio.AsyncClient(server.url, "alice", config=CONFIG)
    bob = nio.AsyncClient(server.url, "bob", config=CONFIG)
    try:
        assert isinstance(
            await laptop.register("alice", PASSWORD), nio.RegisterResponse
        )
        assert isinstance(await bob.register("bob", PASSWORD), nio.RegisterResponse)
        assert isinstance(await phone.login(PASSWORD), nio.LoginResponse)
        assert phone.device_id != laptop.device_id
        created = await laptop.room_create(name="Chat")
        assert isinstance(created, nio.RoomCreateResponse), created
        room_id = created.room_id
        await laptop.room_invite(room_id, bob.user_id)
        assert isinstance(await bob.join(room_id), nio.JoinResponse)
        sent = await bob.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "oops"}
        )
        assert isinstance(sent, nio.RoomSendResponse), sent
        target = sent.event_id
        first = await phone.sync(timeout=0)
        assert isinstance(first, nio.SyncResponse), first
        assert target in _timeline_ids(first, room_id)

        await _hidden(laptop, "PUT", room_id, target)
        # The phone's long-poll wakes with the new list.
        news = await phone.sync(timeout=10_000)
        assert isinstance(news, nio.SyncResponse), news
        assert _hidden_list(news, room_id) == [target]
        assert target not in await _history(phone, room_id)
        # A new device's initial sync: the list, and the room without it.
        tablet = nio.AsyncClient(server.url, "alice", config=CONFIG)
        try:
            assert isinstance(await tablet.login(PASSWORD), nio.LoginResponse)
            fresh = await tablet.sync(timeout=0)
            assert isinstance(fresh, nio.SyncResponse), fresh
            assert _hidden_list(fresh, room_id) == [target]
            shown = _timeline_ids(fresh, room_id)
            assert shown and target not in shown
        finally:
            await tablet.close()
        assert isinstance(
            await phone.room_get_event(room_id, target), nio.RoomGetEventError
        )
        # Bob, who sent it, still has it.
        assert target in await _history(bob, room_id)

        await _hidden(laptop, "DELETE", room_id, target)
        undone = await phone.sync(timeout=10_000)
        assert isinstance(undone, nio.SyncResponse), undone
        assert _hidden_list(undone, room_id) == []
        assert target in await _history(phone, room_id)
    finally:
        for client in (laptop, phone, bob):
            await client.close()


def test_nio_hide_on_one_device_reaches_the_other(
    running_server: RunningServer,
) -> None:
    asyncio.run(_story(running_server))
