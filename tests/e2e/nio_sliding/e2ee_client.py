"""mindroom-nio with its own crypto (the ``e2e`` extra, vodozemac) on simplified
sliding sync, in an encrypted room with another client.

Run by tests/e2e/sliding_nio.py like ``sliding_client.py`` (one JSON argument,
one JSON result file). Alice logs in with encryption on and runs
``sliding_sync_forever`` with the ``to_device`` and ``e2ee`` extensions, so the
room keys and device lists her crypto needs come only through them. She
joins the room she is invited to, waits for the peer's encrypted message to
decrypt, answers encrypted, and ends once the peer's second message (sent
after it decrypted her answer) decrypts too.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import nio
from story_kit import run, set_step

EXTENSIONS = {"to_device": {"enabled": True}, "e2ee": {"enabled": True}}
LISTS = {
    "all": {
        "ranges": [[0, 19]],
        "timeline_limit": 10,
        # Every member: nio encrypts to the members it knows.
        "required_state": [["*", "*"]],
    }
}


async def story(settings: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + float(settings["timeout"])
    peer = settings["peer"]
    client = nio.AsyncClient(
        settings["homeserver"],
        settings["alice"],
        store_path=settings["store"],
        config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    out: dict[str, Any] = {}
    decrypted: list[dict[str, Any]] = []
    undecrypted: list[str] = []

    async def on_text(room: Any, event: Any) -> None:
        if event.sender == peer:
            decrypted.append(
                {
                    "room_id": room.room_id,
                    "body": event.body,
                    "decrypted": bool(getattr(event, "decrypted", False)),
                }
            )

    async def on_megolm(room: Any, event: Any) -> None:
        undecrypted.append(event.event_id)

    client.add_event_callback(on_text, nio.RoomMessageText)
    client.add_event_callback(on_megolm, nio.MegolmEvent)
    loop: asyncio.Task[None] | None = None
    try:
        set_step("login")
        login = await client.login(
            settings["password"], device_name="mindroom-nio e2ee"
        )
        if not isinstance(login, nio.LoginResponse):
            raise RuntimeError(f"login failed: {login!r}")
        out["device_id"] = login.device_id
        out["encryption"] = client.olm is not None
        loop = asyncio.create_task(
            client.sliding_sync_forever(
                timeout=2_000, conn_id="e2ee", lists=LISTS, extensions=EXTENSIONS
            )
        )

        async def until(what: str, check: Any) -> Any:
            while not (value := check()):
                if loop.done():
                    loop.result()  # raises what ended the loop
                    raise RuntimeError(f"the sync loop ended before {what}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"timed out waiting until {what}")
                await asyncio.sleep(0.05)
            return value

        set_step("join the encrypted room the peer invites her to")
        room_id = settings["room"]
        await until("the invite", lambda: room_id in client.invited_rooms)
        # Her device keys are published before the peer can see her join.
        await until("her keys are uploaded", lambda: not client.should_upload_keys)
        joined = await client.join(room_id)
        if not isinstance(joined, nio.JoinResponse):
            raise RuntimeError(f"join failed: {joined!r}")
        await until(
            "the room is joined and encrypted",
            lambda: room_id in client.rooms and client.rooms[room_id].encrypted,
        )

        set_step("the peer's first message decrypts")
        first = await until(
            "the peer's message decrypts",
            lambda: next(
                (d for d in decrypted if d["body"] == settings["expect"]), None
            ),
        )
        out["received"] = first

        set_step("answer encrypted")
        sent = await client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": settings["say"]},
            ignore_unverified_devices=True,
        )
        if not isinstance(sent, nio.RoomSendResponse):
            raise RuntimeError(f"sending failed: {sent!r}")
        out["sent"] = sent.event_id

        set_step("the peer's second message decrypts")
        out["received_after"] = await until(
            "the peer's second message decrypts",
            lambda: next(
                (d for d in decrypted if d["body"] == settings["expect_after"]), None
            ),
        )
        out["undecrypted_seen"] = len(undecrypted)
        client.stop_sync_forever()
        await asyncio.wait_for(loop, 30)
        return out
    finally:
        if loop is not None and not loop.done():
            loop.cancel()
        await client.close()


if __name__ == "__main__":
    sys.exit(run(story))
