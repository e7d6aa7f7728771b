"""Plain (unencrypted) matrix-nio clients registered on a running server, for
the nio end-to-end tests, and two helpers for a client with encryption on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

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


def try_decrypt(client: nio.AsyncClient, event: nio.MegolmEvent) -> Any:
    """The decrypted event, or the same MegolmEvent while its key is missing."""
    try:
        return client.decrypt_event(event)
    except nio.EncryptionError:
        return event


async def send_encrypted_text(client: nio.AsyncClient, room_id: str, body: str) -> str:
    """Send a text message to an encrypted room (querying keys first when nio
    wants to), to every device, verified or not; its event ID."""
    if client.should_query_keys:
        queried = await client.keys_query()
        assert isinstance(queried, nio.KeysQueryResponse), queried
    sent = await client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": body},
        ignore_unverified_devices=True,
    )
    assert isinstance(sent, nio.RoomSendResponse), sent
    return str(sent.event_id)


class Decrypting:
    """The timeline events of a /sync loop's responses, decrypted: a Megolm
    event whose room key had not arrived yet is tried again with each later
    response."""

    def __init__(self, client: nio.AsyncClient) -> None:
        self.client = client
        self.waiting: list[tuple[str, nio.MegolmEvent]] = []

    def events(self, response: nio.SyncResponse) -> list[tuple[str, Any]]:
        """(room ID, event) of the joined rooms' timelines, and of the
        waiting events that decrypt now; the others wait."""
        new = [
            (room_id, event)
            for room_id, info in response.rooms.join.items()
            for event in info.timeline.events
        ]
        retried = [(r, try_decrypt(self.client, e)) for r, e in self.waiting]
        self.waiting = []
        ready = []
        for room_id, event in retried + new:
            if isinstance(event, nio.MegolmEvent):
                self.waiting.append((room_id, event))
            else:
                ready.append((room_id, event))
        return ready

    def text_from(
        self, response: nio.SyncResponse, sender: str
    ) -> tuple[str, nio.RoomMessageText] | None:
        """The first (room ID, text message) by ``sender`` that is readable
        with this response, if any (see ``events``)."""
        for room_id, event in self.events(response):
            if isinstance(event, nio.RoomMessageText) and event.sender == sender:
                return room_id, event
        return None


@asynccontextmanager
async def encrypting_client(
    url: str, user_id: str, password: str, store: Path
) -> AsyncIterator[nio.AsyncClient]:
    """A matrix-nio client with encryption on, logged in with ``password`` as
    a new device (store under ``store``) whose keys are uploaded; closed after."""
    store.mkdir(parents=True, exist_ok=True)
    client = nio.AsyncClient(
        url,
        user_id,
        store_path=str(store),
        config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    try:
        login = await client.login(password, device_name="matrix-nio")
        assert isinstance(login, nio.LoginResponse), login
        if client.should_upload_keys:
            uploaded = await client.keys_upload()
            assert isinstance(uploaded, nio.KeysUploadResponse), uploaded
        yield client
    finally:
        await client.close()
