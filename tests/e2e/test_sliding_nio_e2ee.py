"""End-to-end encryption over simplified sliding sync: mindroom-nio with its
own crypto (vodozemac, the ``e2e`` extra, in a virtualenv of its own) talks to
matrix-nio (python's /sync client, this environment's) in an encrypted room.

Alice (mindroom-nio, ``nio_sliding/e2ee_client.py``) syncs only with sliding
sync and its ``to_device`` and ``e2ee`` extensions: Bob's room key reaches her
as a to-device message through the extension, and her answer's key reaches
Bob's device after her client found it through the server. Bob invites her to
an encrypted room, writes once she has joined, and writes again after he
decrypted her answer.

Without CI set, a machine that cannot install mindroom-nio[e2e] skips this
module; with CI set, that is a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nio
import pytest

from tests.e2e.conftest import RunningServer
from tests.e2e.nio_clients import Decrypting, encrypting_client, send_encrypted_text
from tests.e2e.sliding_nio import ensure_mindroom_nio, run_story
from tests.e2e.sliding_rooms import User, register, sliding_server
from tests.support.installs import installed_or_skip

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("sliding_nio"),
    # The first run installs mindroom-nio[e2e] into its virtualenv.
    pytest.mark.timeout(900),
]

STORY_TIMEOUT = 90.0
BOB_SAYS = "a secret from matrix-nio"
ALICE_SAYS = "and one back from mindroom-nio over sliding sync"
BOB_SAYS_AGAIN = "and the next one"

JsonDict = dict[str, Any]


@pytest.fixture(scope="module")
def nio_e2e_python() -> Path:
    return installed_or_skip("mindroom-nio[e2e]", lambda: ensure_mindroom_nio(e2e=True))


@pytest.fixture(scope="module")
def chatly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with sliding_server(tmp_path_factory, "sliding-nio-e2ee") as server:
        yield server


def test_encrypted_exchange_over_sliding_sync(
    chatly: RunningServer, nio_e2e_python: Path, tmp_path: Path
) -> None:
    assert nio.crypto.ENCRYPTION_ENABLED, (
        "install matrix-nio[e2e] (the test extra does)"
    )
    alice = register(chatly, "alice")
    bob = register(chatly, "bob")
    seen, bob_seen = asyncio.run(
        _exchange(chatly, nio_e2e_python, alice, bob, tmp_path)
    )
    assert seen["received"] == {
        "room_id": seen["received"]["room_id"],
        "body": BOB_SAYS,
        "decrypted": True,
    }
    assert seen["received_after"]["body"] == BOB_SAYS_AGAIN
    assert seen["received_after"]["decrypted"] is True
    # Bob decrypted her answer: her client shared its key with his device.
    assert bob_seen.body == ALICE_SAYS
    assert bob_seen.decrypted
    assert bob_seen.event_id == seen["sent"]


async def _exchange(
    server: RunningServer, python: Path, alice: User, bob: User, work: Path
) -> tuple[JsonDict, nio.RoomMessageText]:
    (work / "alice-store").mkdir()
    store = work / "bob-store"
    async with encrypting_client(
        server.url, bob.user_id, bob.password, store
    ) as client:
        created = await client.room_create(
            invite=[alice.user_id],
            initial_state=[
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ],
        )
        assert isinstance(created, nio.RoomCreateResponse), created
        settings = {
            "homeserver": server.url,
            "alice": alice.user_id,
            "password": alice.password,
            "peer": bob.user_id,
            "room": created.room_id,
            "store": str(work / "alice-store"),
            "expect": BOB_SAYS,
            "say": ALICE_SAYS,
            "expect_after": BOB_SAYS_AGAIN,
        }
        story = asyncio.create_task(
            asyncio.to_thread(
                run_story, python, work, settings, STORY_TIMEOUT, "e2ee_client.py"
            )
        )
        seen = await _bob(client, created.room_id, alice.user_id, story)
        return await story, seen


async def _bob(
    client: nio.AsyncClient, room_id: str, alice: str, story: asyncio.Task[Any]
) -> nio.RoomMessageText:
    """Bob's /sync loop: write once Alice joined, and again once her answer
    decrypted; until her story ends (or the deadline passes)."""
    deadline = time.monotonic() + STORY_TIMEOUT
    said = False
    answer: nio.RoomMessageText | None = None
    decrypting = Decrypting(client)
    first = await client.sync(timeout=0, full_state=True)
    assert isinstance(first, nio.SyncResponse), first
    while time.monotonic() < deadline and not story.done():
        response = await client.sync(timeout=500)
        assert isinstance(response, nio.SyncResponse), response
        room = client.rooms.get(room_id)
        joined = room is not None and alice in room.users
        if not said and joined and alice not in room.invited_users:
            await send_encrypted_text(client, room_id, BOB_SAYS)
            said = True
        found = decrypting.text_from(response, alice)
        if answer is None and found is not None:
            _, answer = found
            await send_encrypted_text(client, room_id, BOB_SAYS_AGAIN)
    if answer is None and story.done():
        story.result()  # her story failed: say where
    assert answer is not None, "matrix-nio never decrypted mindroom-nio's answer"
    return answer
