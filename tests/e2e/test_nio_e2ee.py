"""End-to-end encryption with matrix-nio, both users on one Chatly started by
synctl: SAS verification, an Olm session built on a fallback key, Megolm
messages each side decrypts, and a room key requested by a new device."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import nio
import pytest

from tests.e2e.conftest import RunningServer, synctl_server
from tests.e2e.e2ee import (
    Party,
    converse,
    encrypted_room,
    new_party,
    parties,
    receive_decrypted,
    send_encrypted,
)
from tests.e2e.e2ee_keys import (
    claim_for_session,
    claim_one,
    converse_on_fallback_key,
    learn_device,
    new_device_reads_along,
    publish_fallback_key,
    verify_by_sas,
    verify_manually,
)
from tests.interop.client import Client, log_in_again, register

# One server for the module, on one xdist worker.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("nio_e2ee")]

_names = itertools.count()

MakeUser = Callable[[str], Client]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One Chatly for these tests (rate limits off: a test claims 50 keys)."""
    data_dir: Path = tmp_path_factory.mktemp("nio_e2ee") / "data"
    with synctl_server(data_dir, {"rate_limiting.enabled": "false"}) as running:
        yield running


def _users(server: RunningServer) -> MakeUser:
    """``user("alice")`` registers a new user on ``server``, logged in."""
    return lambda name: register(
        server.url, server.shared_secret, f"{name}{next(_names)}"
    )


async def _sas_and_fallback(user: MakeUser) -> None:
    async with parties(user("alice"), user("bob")) as (alice, bob):
        room_id = await encrypted_room(alice, bob)
        await verify_by_sas(alice, bob)
        claimer = user("claimer")
        used = await converse_on_fallback_key(
            alice, bob, claimer, room_id, "one server"
        )
        # A new fallback key replaces the used one.
        replacement = publish_fallback_key(bob)
        assert replacement[1]["key"] != used[1]["key"]
        assert claim_one(claimer, bob) == replacement
        await new_device_reads_along(alice, bob, room_id)


def test_sas_verified_conversation_over_a_fallback_key(server: RunningServer) -> None:
    asyncio.run(_sas_and_fallback(_users(server)))


async def _key_request(user: MakeUser) -> None:
    async with parties(user("alice"), user("bob")) as (alice, bob):
        room_id = await encrypted_room(alice, bob)
        await verify_manually(alice, bob)
        await verify_manually(bob, alice)
        await converse(alice, bob, room_id, "before bob's new device")
        body = "sent before bob's second device existed"
        event_id = await send_encrypted(alice, room_id, body)
        await receive_decrypted(bob, alice, room_id, event_id, body)
        bob.device_lists_changed.clear()
        async with await new_party(log_in_again(bob.http, "laptop")) as later:
            await bob.sync_until(
                lambda: bob.user_id in bob.device_lists_changed,
                "bob's new device in device_lists.changed",
            )
            await _request_the_key(bob, later, room_id, event_id, body)


async def _request_the_key(
    bob: Party, later: Party, room_id: str, event_id: str, body: str
) -> None:
    """Bob's new device cannot read ``event_id``; it asks bob's devices for the
    room key (an m.room_key_request to-device message) and the first device
    forwards it over a new Olm session (m.room.encrypted to-device)."""
    undecryptable = await later.sync_until(
        lambda: later.event(room_id, event_id), f"event {event_id}"
    )
    assert isinstance(undecryptable, nio.MegolmEvent), undecryptable
    # Bob's two devices trust each other (nio forwards keys only then), and the
    # first has an Olm session to the new one, on one of its one-time keys.
    for me, other in ((bob, later), (later, bob)):
        me.nio.verify_device(await learn_device(me, other))
    key_id, key = await claim_for_session(bob, later)
    assert "fallback" not in key, key_id
    requested = await later.nio.request_room_key(undecryptable)
    assert isinstance(requested, nio.RoomKeyRequestResponse), requested

    request = await bob.sync_until(
        lambda: bob.received(nio.RoomKeyRequest, bob.user_id), "the key request"
    )
    assert (request.requesting_device_id, request.session_id) == (
        later.device_id,
        undecryptable.session_id,
    )
    forwarded = await later.sync_until(
        lambda: later.received(nio.ForwardedRoomKeyEvent, bob.user_id),
        "the forwarded room key",
    )
    assert forwarded.session_id == undecryptable.session_id
    decrypted = later.nio.decrypt_event(undecryptable)
    assert isinstance(decrypted, nio.RoomMessageText), decrypted
    assert decrypted.body == body


def test_new_device_gets_an_old_room_key_by_request(server: RunningServer) -> None:
    asyncio.run(_key_request(_users(server)))
