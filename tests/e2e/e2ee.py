"""matrix-nio end-to-end encryption against real servers: the shared test kit.

A user's device is a ``Party``: a matrix-nio ``AsyncClient`` with encryption on
(an in-memory store) and the plain-HTTP ``Client`` of the same login, for what
nio does not do or show: fallback keys, /keys/claim by hand, the raw events the
server stored and the /sync fields nio does not parse. The one-Chatly tier
(tests/e2e) and the federation tiers (tests/interop) run the same story from
here and from ``e2ee_keys`` (verification, one-time and fallback keys, device
lists), so it reads the same whichever servers carry it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import nio
from nio.store import SqliteMemoryStore

from tests.interop.client import Client, quote

MEGOLM = "m.megolm.v1.aes-sha2"
OLM = "m.olm.v1.curve25519-aes-sha2"
SYNC_TIMEOUT = 45.0
# Long-poll this long per /sync; the server answers at once when something
# arrives, so this bounds nothing but an idle wait.
POLL_MS = 2000
CONFIG = nio.AsyncClientConfig(
    store=SqliteMemoryStore, encryption_enabled=True, store_sync_tokens=False
)

T = TypeVar("T")


class Party:
    """One user's device: nio for the cryptography, plain HTTP beside it.

    Everything nio returned from /sync is kept (after nio decrypted what it
    could), so a test can wait for "this event has arrived".
    """

    def __init__(self, client: nio.AsyncClient, http: Client) -> None:
        self.nio = client
        self.http = http
        self.to_device: list[nio.ToDeviceEvent] = []
        self.timeline: dict[str, list[nio.Event]] = {}
        self.device_lists_changed: set[str] = set()
        # device_one_time_keys_count.signed_curve25519 of the last /sync (nio
        # itself ignores a count of 0).
        self.synced_key_count: int | None = None
        self.one_time_keys_uploaded = 0

    def __repr__(self) -> str:
        return f"Party({self.user_id}, {self.device_id})"

    @property
    def user_id(self) -> str:
        return self.http.user_id

    @property
    def device_id(self) -> str:
        return self.http.device_id

    @property
    def ed25519(self) -> str:
        """The device's fingerprint key, as its owner would read it out."""
        return self.nio.olm.account.identity_keys["ed25519"]

    async def flush(self) -> None:
        """Send the to-device messages nio has queued (SAS steps, key shares)."""
        for response in await self.nio.send_to_device_messages():
            assert isinstance(response, nio.ToDeviceResponse), response

    async def sync(self, timeout_ms: int = POLL_MS) -> nio.SyncResponse:
        """One /sync, handled by nio; queued to-device messages go out first and
        those nio queues while handling it go out after."""
        await self.flush()
        response = await self.nio.sync(timeout=timeout_ms)
        assert isinstance(response, nio.SyncResponse), response
        self.to_device.extend(response.to_device_events)
        self.device_lists_changed.update(response.device_list.changed)
        self.synced_key_count = response.device_key_count.signed_curve25519
        for room_id, room in response.rooms.join.items():
            self.timeline.setdefault(room_id, []).extend(room.timeline.events)
        await self.flush()
        return response

    async def sync_until(
        self, found: Callable[[], T | None], what: str, timeout: float = SYNC_TIMEOUT
    ) -> T:
        """Sync until ``found()`` is truthy; that value.

        Raises:
            AssertionError: it did not happen within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = found()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{self} did not see {what} in {timeout:.0f}s")
            await self.sync()

    def received(self, kind: type[T], sender: str) -> T | None:
        """The last to-device event of ``kind`` from ``sender``, if any."""
        found = [
            e for e in self.to_device if isinstance(e, kind) and e.sender == sender
        ]
        return found[-1] if found else None

    def event(self, room_id: str, event_id: str) -> nio.Event | None:
        """The timeline event ``event_id`` of ``room_id``, once synced."""
        for event in self.timeline.get(room_id, []):
            if getattr(event, "event_id", None) == event_id:
                return event
        return None

    async def close(self) -> None:
        await self.nio.close()

    async def __aenter__(self) -> Party:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


@contextlib.asynccontextmanager
async def parties(*logins: Client) -> AsyncIterator[list[Party]]:
    """A ``Party`` on each login (``new_party``), closed afterwards."""
    made: list[Party] = []
    try:
        for http in logins:
            made.append(await new_party(http))
        yield made
    finally:
        for party in made:
            await party.close()


async def new_party(http: Client) -> Party:
    """nio on the device ``http`` is logged in as; its device keys and one-time
    keys uploaded through nio (POST /keys/upload)."""
    client = nio.AsyncClient(
        http.base_url, http.user_id, device_id=http.device_id, config=CONFIG
    )
    client.restore_login(http.user_id, http.device_id, http.token)
    party = Party(client, http)
    try:
        uploaded = await client.keys_upload()
        assert isinstance(uploaded, nio.KeysUploadResponse), uploaded
        wanted = client.olm.account.max_one_time_keys
        assert uploaded.signed_curve25519_count == wanted, uploaded
    except BaseException:
        await client.close()
        raise
    party.one_time_keys_uploaded = uploaded.signed_curve25519_count
    return party


# --- Rooms -------------------------------------------------------------------


async def encrypted_room(creator: Party, guest: Party) -> str:
    """``creator`` makes a private room with m.room.encryption (Megolm) from the
    start and invites ``guest``, who joins through the invite; both have synced
    the room, each other's membership and the encryption state."""
    created = await creator.nio.room_create(
        name="encrypted",
        invite=[guest.user_id],
        initial_state=[
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": MEGOLM},
            }
        ],
    )
    assert isinstance(created, nio.RoomCreateResponse), created
    room_id = created.room_id
    await guest.sync_until(
        lambda: room_id in guest.nio.invited_rooms, f"the invite to {room_id}"
    )
    joined = await guest.nio.join(room_id)
    assert isinstance(joined, nio.JoinResponse), joined
    for me, other in ((guest, creator), (creator, guest)):
        await me.sync_until(
            lambda me=me, other=other: (
                room_id in me.nio.rooms
                and other.user_id in me.nio.rooms[room_id].users
                and me.nio.rooms[room_id].encrypted
            ),
            f"{other.user_id} joined in encrypted {room_id}",
        )
    return room_id


# --- Messages -----------------------------------------------------------------


async def send_encrypted(sender: Party, room_id: str, body: str) -> str:
    """``sender`` sends an m.text through nio (which shares its Megolm session
    first, to trusted devices only); the event ID. The server stored only
    ciphertext."""
    sent = await sender.nio.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": body}
    )
    assert isinstance(sent, nio.RoomSendResponse), sent
    raw = sender.http.call(
        "GET", f"/rooms/{quote(room_id)}/event/{quote(sent.event_id)}"
    )
    assert raw["type"] == "m.room.encrypted", raw
    assert raw["content"]["algorithm"] == MEGOLM
    assert body not in str(raw)
    return str(sent.event_id)


async def receive_decrypted(
    receiver: Party, sender: Party, room_id: str, event_id: str, body: str
) -> nio.RoomMessageText:
    """``receiver`` syncs until ``event_id`` arrives and nio decrypts it: the
    text, from a device ``receiver`` trusts."""
    event = await receiver.sync_until(
        lambda: receiver.event(room_id, event_id), f"event {event_id}"
    )
    assert isinstance(event, nio.RoomMessageText), event
    assert (event.body, event.sender) == (body, sender.user_id)
    assert event.decrypted and event.verified, event
    return event


def room_key_from(receiver: Party, sender: Party, room_id: str) -> nio.RoomKeyEvent:
    """The m.room_key ``receiver`` got from ``sender`` for ``room_id``, as nio
    decrypted it from an Olm-encrypted (m.room.encrypted) to-device message."""
    keys = [
        e
        for e in receiver.to_device
        if isinstance(e, nio.RoomKeyEvent)
        and e.sender == sender.user_id
        and e.room_id == room_id
    ]
    assert keys, f"{receiver} got no m.room_key from {sender}: {receiver.to_device}"
    assert keys[-1].algorithm == MEGOLM
    return keys[-1]


async def converse(a: Party, b: Party, room_id: str, tag: str) -> None:
    """``a`` and ``b`` each send one encrypted message that the other decrypts;
    each got the other's Megolm session over encrypted to-device."""
    for sender, receiver in ((a, b), (b, a)):
        body = f"{tag}: secret from {sender.user_id}"
        event_id = await send_encrypted(sender, room_id, body)
        event = await receive_decrypted(receiver, sender, room_id, event_id, body)
        room_key = room_key_from(receiver, sender, room_id)
        assert room_key.session_id == event.session_id
