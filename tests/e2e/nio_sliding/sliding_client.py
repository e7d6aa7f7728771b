"""mindroom-nio's MSC4186 client against a real server, as one scripted story.

Run by tests/e2e/sliding_nio.py with the python of its own virtualenv (the
package installs as the module ``nio``, like matrix-nio), never imported by
the test run. It takes its settings as one JSON argument and writes one JSON
result to the file named there: what the client saw at each step, for the
test to assert on. Bob (a plain nio client with a token the test made) sends
the messages Alice's sliding sync must receive.

Steps: Alice logs in with her password (a new device); the first request
lists her rooms in a two-room window; a second opens a room outside the window
by subscription; a long-poll gets Bob's next message; a new client instance
resumes the connection with the last ``pos`` (only what changed comes back); an
old ``pos`` is answered M_UNKNOWN_POS; and ``sliding_sync_forever`` (with the
to_device, e2ee, account_data, receipts and typing extensions) recovers by
itself when the server drops its connection, then still gets Bob's messages
and a to-device message from him, once.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import nio
from story_kit import current_step, run, set_step

CONN = "chatly-test"
LOOP_CONN = "chatly-loop"
REQUIRED_STATE = [
    ["m.room.name", ""],
    ["m.room.member", "$LAZY"],
    ["m.room.create", ""],
]
OPEN_STATE = [["*", "*"]]
EXTENSIONS = {
    key: {"enabled": True}
    for key in ("to_device", "e2ee", "account_data", "receipts", "typing")
}
TO_DEVICE_TYPE = "org.chatly.sliding_ping"


def room_summary(room: Any) -> dict[str, Any]:
    """A SlidingSyncRoom as JSON: every field nio parsed."""
    return {
        "initial": room.initial,
        "name": room.name,
        "avatar": room.avatar,
        "bump_stamp": room.bump_stamp,
        "membership": room.membership,
        "is_dm": room.is_dm,
        "heroes": None if room.heroes is None else [h.user_id for h in room.heroes],
        "limited": room.limited,
        "prev_batch": room.prev_batch,
        "num_live": room.num_live,
        "joined_count": room.joined_count,
        "invited_count": room.invited_count,
        "notification_count": room.notification_count,
        "highlight_count": room.highlight_count,
        "required_state": sorted(
            [e.source["type"], e.source["state_key"]]
            if hasattr(e, "source")
            else [e.type, e.state_key]
            for e in room.required_state
        ),
        "timeline": [
            {
                "event_id": e.event_id,
                "sender": e.sender,
                "type": e.source.get("type"),
                "body": e.source.get("content", {}).get("body"),
            }
            for e in room.timeline
        ],
    }


def summary(response: Any) -> dict[str, Any]:
    """A sliding-sync response (or error) as JSON."""
    if isinstance(response, nio.SlidingSyncError):
        return {"error": response.status_code, "message": response.message}
    if not isinstance(response, nio.SlidingSyncResponse):
        return {"unexpected": type(response).__name__, "repr": repr(response)[:500]}
    return {
        "pos": response.pos,
        "lists": {name: lst.count for name, lst in response.lists.items()},
        "rooms": {rid: room_summary(room) for rid, room in response.rooms.items()},
        # What nio parsed from the extensions.
        "extensions": sorted(response.extensions),
        "to_device": [
            {
                "type": e.source.get("type"),
                "sender": e.sender,
                "content": e.source.get("content"),
            }
            for e in response.to_device_events
        ],
        "to_device_next_batch": response.to_device_next_batch,
        "one_time_keys": response.device_key_count.signed_curve25519,
        "account_data": sorted(_type(e) for e in response.account_data_events),
        "room_account_data": {
            rid: sorted(_type(e) for e in events)
            for rid, events in response.room_account_data.items()
        },
    }


def _type(event: Any) -> str:
    """An account-data event's type (nio parses the known ones into classes)."""
    source = getattr(event, "source", None)
    if isinstance(source, dict) and "type" in source:
        return str(source["type"])
    return str(getattr(event, "type", type(event).__name__))


def ok(response: Any) -> Any:
    """``response`` if it is a SlidingSyncResponse; else fail the step."""
    if not isinstance(response, nio.SlidingSyncResponse):
        raise RuntimeError(
            f"{current_step()}: expected a sliding-sync response: {response!r}"
        )
    return response


async def wait_for(what: str, check: Any, deadline: float) -> None:
    """Poll ``check()`` every 50 ms until it is true or the deadline passes."""
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


def restored(settings: dict[str, Any], user: str, device: str, token: str) -> Any:
    client = nio.AsyncClient(settings["homeserver"], user)
    client.restore_login(user, device, token)
    return client


async def send(bob: Any, room_id: str, body: str) -> str:
    sent = await bob.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": body}
    )
    if not isinstance(sent, nio.RoomSendResponse):
        raise RuntimeError(f"bob could not send to {room_id}: {sent!r}")
    return str(sent.event_id)


async def story(settings: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + float(settings["timeout"])
    rooms = settings["rooms"]
    out: dict[str, Any] = {
        "nio_version": nio.__version__ if hasattr(nio, "__version__") else None
    }
    bob = restored(
        settings, settings["bob"], settings["bob_device"], settings["bob_token"]
    )
    alice = nio.AsyncClient(settings["homeserver"], settings["alice"])
    clients = [bob, alice]
    try:
        set_step("login")
        login = await alice.login(settings["password"], device_name="mindroom-nio")
        if not isinstance(login, nio.LoginResponse):
            raise RuntimeError(f"login failed: {login!r}")
        out["device_id"] = login.device_id
        lists = {
            "recent": {
                "ranges": [[0, 1]],
                "timeline_limit": 1,
                "required_state": REQUIRED_STATE,
            }
        }

        set_step("first request: the two most recent rooms")
        first = ok(await alice.sliding_sync(conn_id=CONN, lists=lists, timeout=0))
        out["first"] = summary(first)
        # What nio made of it: its rooms, ordered by bump_stamp as a client does.
        out["first_client_rooms"] = {
            rid: alice.rooms[rid].display_name
            for rid in first.rooms
            if rid in alice.rooms
        }

        set_step("open a room by subscription")
        subs = {rooms["open"]: {"timeline_limit": 10, "required_state": OPEN_STATE}}

        async def subscribed(client: Any, pos: str, timeout: int) -> Any:
            """The next response of the connection, with the list and Bravo."""
            return ok(
                await client.sliding_sync(
                    conn_id=CONN,
                    pos=pos,
                    lists=lists,
                    room_subscriptions=subs,
                    timeout=timeout,
                )
            )

        opened = await subscribed(alice, first.pos, 0)
        out["opened"] = summary(opened)
        room = alice.rooms.get(rooms["open"])
        out["opened_client"] = (
            None
            if room is None
            else {
                "display_name": room.display_name,
                "members": sorted(room.users),
                "name": room.name,
            }
        )

        set_step("long-poll gets bob's message")
        received: list[dict[str, Any]] = []

        async def on_message(room: Any, event: Any) -> None:
            received.append(
                {
                    "room_id": room.room_id,
                    "body": event.body,
                    "event_id": event.event_id,
                }
            )

        alice.add_event_callback(on_message, nio.RoomMessageText)
        poll = asyncio.create_task(
            alice.sliding_sync(
                conn_id=CONN,
                pos=opened.pos,
                lists=lists,
                room_subscriptions=subs,
                timeout=30_000,
            )
        )
        await asyncio.sleep(0.3)
        out["live_event_id"] = await send(bob, rooms["open"], "live to the open room")
        live = ok(await poll)
        out["live"] = summary(live)
        out["live_callbacks"] = list(received)

        set_step("a new client instance resumes with the last pos")
        pos = live.pos
        await alice.close()
        away_id = await send(bob, rooms["away"], "while you were away")
        out["away_event_id"] = away_id
        resumed_client = restored(
            settings, settings["alice"], login.device_id, login.access_token
        )
        clients.append(resumed_client)
        resumed = await subscribed(resumed_client, pos, 10_000)
        out["resumed"] = summary(resumed)

        set_step("an old pos is M_UNKNOWN_POS")
        stale = await resumed_client.sliding_sync(
            conn_id=CONN, pos=first.pos, lists=lists, timeout=0
        )
        out["stale"] = summary(stale)

        set_step("bob invites alice to a direct chat; she joins")
        created = await bob.room_create(
            is_direct=True,
            invite=[settings["alice"]],
            preset=nio.RoomPreset.trusted_private_chat,
        )
        if not isinstance(created, nio.RoomCreateResponse):
            raise RuntimeError(f"bob could not create the DM: {created!r}")
        dm = created.room_id
        out["dm"] = dm
        invited = await subscribed(resumed_client, resumed.pos, 10_000)
        out["dm_invite"] = summary(invited)
        out["dm_invite_state"] = [
            {
                "type": e.source.get("type"),
                "sender": e.sender,
                "state_key": e.source.get("state_key"),
                "content": getattr(e, "content", None),
            }
            for e in invited.rooms[dm].stripped_state
        ]
        invite_room = resumed_client.invited_rooms.get(dm)
        out["dm_invite_client"] = (
            None
            if invite_room is None
            else {
                "display_name": invite_room.display_name,
                "inviter": invite_room.inviter
                if hasattr(invite_room, "inviter")
                else None,
            }
        )
        joined = await resumed_client.join(dm)
        if not isinstance(joined, nio.JoinResponse):
            raise RuntimeError(f"alice could not join the DM: {joined!r}")
        after_join = await subscribed(resumed_client, invited.pos, 10_000)
        out["dm_joined"] = summary(after_join)
        dm_room = resumed_client.rooms.get(dm)
        out["dm_joined_client"] = (
            None
            if dm_room is None
            else {
                "display_name": dm_room.display_name,
                "members": sorted(dm_room.users),
                "invited": dm in resumed_client.invited_rooms,
            }
        )

        set_step("sliding_sync_forever recovers when its connection is dropped")
        loop_client = restored(
            settings, settings["alice"], login.device_id, login.access_token
        )
        clients.append(loop_client)
        seen: list[dict[str, Any]] = []
        bodies: list[dict[str, Any]] = []

        async def on_response(response: Any) -> None:
            seen.append(summary(response))

        async def on_loop_message(room: Any, event: Any) -> None:
            bodies.append({"room_id": room.room_id, "body": event.body})

        loop_client.add_response_callback(
            on_response, (nio.SlidingSyncResponse, nio.SlidingSyncError)
        )
        loop_client.add_event_callback(on_loop_message, nio.RoomMessageText)
        loop = asyncio.create_task(
            loop_client.sliding_sync_forever(
                timeout=1_000,
                conn_id=LOOP_CONN,
                lists=lists,
                room_subscriptions=subs,
                extensions=EXTENSIONS,
            )
        )
        await wait_for("the loop's first response", lambda: len(seen) >= 1, deadline)
        # Another request without pos on the same device and conn_id starts the
        # connection afresh: the loop's pos now belongs to nothing.
        usurper = restored(
            settings, settings["alice"], login.device_id, login.access_token
        )
        clients.append(usurper)
        ok(await usurper.sliding_sync(conn_id=LOOP_CONN, lists=lists, timeout=0))

        def errors() -> list[int]:
            return [i for i, s in enumerate(seen) if "error" in s]

        await wait_for("the loop is told M_UNKNOWN_POS", lambda: errors(), deadline)
        first_error = errors()[0]
        await wait_for(
            "the loop has a new connection",
            lambda: any("pos" in s for s in seen[first_error + 1 :]),
            deadline,
        )
        out["after_recovery_event_id"] = await send(
            bob, rooms["open"], "after the loop recovered"
        )
        await wait_for(
            "the loop's callback has bob's message",
            lambda: any(b["body"] == "after the loop recovered" for b in bodies),
            deadline,
        )
        set_step("a to-device message reaches the loop once")
        sent = await bob.to_device(
            nio.ToDeviceMessage(
                TO_DEVICE_TYPE,
                settings["alice"],
                login.device_id,
                {"ping": "over sliding sync"},
            )
        )
        if not isinstance(sent, nio.ToDeviceResponse):
            raise RuntimeError(f"bob could not send to-device: {sent!r}")

        def pinged() -> list[int]:
            return [
                i
                for i, s in enumerate(seen)
                if any(m["type"] == TO_DEVICE_TYPE for m in s.get("to_device", []))
            ]

        await wait_for("the to-device message", lambda: pinged(), deadline)
        # Two more responses: the next request's since acknowledged it.
        ping_at = pinged()[0]
        await send(bob, rooms["open"], "after the to-device message")
        await wait_for(
            "a response after the to-device message",
            lambda: any(b["body"] == "after the to-device message" for b in bodies),
            deadline,
        )
        out["to_device_at"] = ping_at
        loop_client.stop_sync_forever()
        await asyncio.wait_for(loop, max(1.0, deadline - time.monotonic()))
        out["loop_responses"] = seen
        out["loop_messages"] = bodies
        return out
    finally:
        for client in clients:
            await client.close()


if __name__ == "__main__":
    sys.exit(run(story))
