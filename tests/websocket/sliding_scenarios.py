"""Simplified sliding sync over a real socket (docs/websocket.md, "Sliding
sync over the socket"), run by ``run_isolated`` in a child process like the
scenarios of ``scenarios.py``."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.websocket.httpapi import ahttp
from tests.websocket.scenarios import _room_with, _send_text, _send_to_device
from tests.websocket.wsclient import JsonDict, WsClient

SS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
User = tuple[str, str]
LIST = {"range": [0, 19], "timeline_limit": 5, "required_state": [["m.room.name", ""]]}


def _texts(response: JsonDict, room_id: str) -> list[str]:
    room = response["body"]["rooms"].get(room_id, {})
    return [
        e["content"]["body"]
        for e in room.get("timeline", [])
        if e["type"] == "m.room.message"
    ]


def _numbers(response: JsonDict) -> list[Any]:
    section = response["body"]["extensions"].get("to_device", {})
    return [e["content"]["n"] for e in section.get("events", [])]


async def _until(ws: WsClient, found: Any, timeout: float = 15) -> JsonDict:
    """The next sliding_sync response for which ``found`` is true."""
    while True:
        response = await ws.recv("sliding_sync", timeout)
        if found(response):
            return response


async def sliding_stream(url: str, alice: User, bob: User) -> JsonDict:
    """Alice subscribes with a list and the to_device extension; Bob's
    message and to-device message reach her over the socket as they happen;
    after the network drops she goes on over HTTP from the last pos."""
    room_id = await _room_with(url, alice, bob)
    ws = await WsClient.connect(url, alice[1])
    device = (await ws.recv("authenticated"))["device_id"]
    body: JsonDict = {
        "conn_id": "socket",
        "lists": {"all": LIST},
        "extensions": {"to_device": {"enabled": True}},
    }
    await ws.send({"type": "sliding_sync", "body": body})
    first = await ws.recv("sliding_sync")
    await asyncio.sleep(1)  # the stream is long-polling now
    loop = asyncio.get_running_loop()
    sent_at = loop.time()
    await _send_text(url, bob, room_id, "over the socket")
    pushed = await _until(ws, lambda r: _texts(r, room_id))
    elapsed = loop.time() - sent_at
    await _send_to_device(url, bob, alice, device, 1)
    with_message = await _until(ws, _numbers)
    await asyncio.sleep(1)  # the stream's next request acknowledges it
    ws.abort()
    await _send_text(url, bob, room_id, "while away")
    since = with_message["body"]["extensions"]["to_device"]["next_batch"]
    resume = {
        **body,
        "pos": with_message["body"]["pos"],
        "extensions": {"to_device": {"enabled": True, "since": since}},
    }
    status, resumed = await ahttp(url, "POST", SS, resume, alice[1])
    assert status == 200, resumed
    return {
        "room_id": room_id,
        "first_rooms": sorted(first["body"]["rooms"]),
        "first_initial": first["body"]["rooms"][room_id].get("initial"),
        "pushed": _texts(pushed, room_id),
        "pushed_initial": pushed["body"]["rooms"][room_id].get("initial"),
        "elapsed": elapsed,
        "to_device": _numbers(with_message),
        "resumed_rooms": sorted(resumed["rooms"]),
        "resumed": _texts({"body": resumed}, room_id),
        "resumed_to_device": _numbers({"body": resumed}),
    }
