"""End-to-end encryption with matrix-nio across federation: a user of our
server and a user of Synapse, or of a second Chatly, verify each other's device
by SAS over to-device messages, start an Olm session on a fallback key claimed
over federation, read each other's Megolm messages, and each hears of the
other's new device (device list updates) and encrypts for it too.

Each side's one-time keys are claimed by a user of the other server first, so
both servers' federation /user/keys/claim hand out the fallback key; the
Olm session is built on that of our user's device.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.e2e.e2ee import (
    encrypted_room,
    parties,
)
from tests.e2e.e2ee_keys import (
    converse_on_fallback_key,
    exhaust_one_time_keys,
    new_device_reads_along,
    publish_fallback_key,
    verify_by_sas,
)
from tests.interop.client import Client

MakeUser = Callable[[str], Client]


async def _story(ours: MakeUser, theirs: MakeUser, tag: str) -> None:
    async with parties(ours("alice"), theirs("bob")) as (alice, bob):
        room_id = await encrypted_room(alice, bob)
        await verify_by_sas(alice, bob)
        # Our server asks theirs for bob's keys until only the fallback is left.
        exhaust_one_time_keys(ours("claimer"), bob, publish_fallback_key(bob))
        # Theirs asks ours for alice's: bob's Olm session rides her fallback key.
        await converse_on_fallback_key(bob, alice, theirs("claimer"), room_id, tag)
        # New devices are announced over federation, both ways.
        await new_device_reads_along(alice, bob, room_id)
        await new_device_reads_along(bob, alice, room_id)


def test_encrypted_conversation_with_synapse(
    chatly_user: MakeUser, synapse_user: MakeUser
) -> None:
    asyncio.run(_story(chatly_user, synapse_user, "with Synapse"))


def test_encrypted_conversation_between_two_chatlys(
    chatly_user: MakeUser, peer_user: MakeUser
) -> None:
    asyncio.run(_story(chatly_user, peer_user, "between Chatlys"))
