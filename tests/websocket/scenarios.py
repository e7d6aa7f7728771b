"""WebSocket client scenarios, each run by ``run_isolated`` in a child process.

Each returns plain data for the test to assert on. Users are registered by
the test (over HTTP) and passed in as (user ID, access token) pairs.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.websocket.httpapi import ahttp
from tests.websocket.wsclient import JsonDict, WsClient

V3 = "/_matrix/client/v3"
User = tuple[str, str]


async def _room_with(url: str, owner: User, member: User) -> str:
    """A room created by ``owner`` that ``member`` has joined (over HTTP)."""
    status, body = await ahttp(
        url, "POST", f"{V3}/createRoom", {"invite": [member[0]]}, owner[1]
    )
    assert status == 200, body
    room_id = body["room_id"]
    status, body = await ahttp(url, "POST", f"{V3}/join/{room_id}", {}, member[1])
    assert status == 200, body
    return str(room_id)


async def _send_text(url: str, sender: User, room_id: str, text: str) -> str:
    status, body = await ahttp(
        url,
        "PUT",
        f"{V3}/rooms/{room_id}/send/m.room.message/{uuid.uuid4().hex}",
        {"msgtype": "m.text", "body": text},
        sender[1],
    )
    assert status == 200, body
    return str(body["event_id"])


def _texts(sync: JsonDict, room_id: str) -> list[str]:
    room = sync["body"]["rooms"]["join"].get(room_id, {})
    return [
        e["content"]["body"]
        for e in room.get("timeline", {}).get("events", [])
        if e["type"] == "m.room.message"
    ]


async def _collect(
    ws: WsClient, room_id: str, until: str, timeout: float = 15
) -> tuple[list[str], str, int]:
    """Message texts from sync messages until ``until`` is among them.

    Returns:
        The texts, the last next_batch and how many sync messages it took.
    """
    texts: list[str] = []
    next_batch, count = "", 0
    while until not in texts:
        sync = await ws.recv("sync", timeout)
        texts += _texts(sync, room_id)
        next_batch, count = sync["body"]["next_batch"], count + 1
    return texts, next_batch, count


async def auth_forms(url: str, user: User) -> JsonDict:
    """Header, query parameter and first-message authentication."""
    out: JsonDict = {}
    ws = await WsClient.connect(url, user[1])
    out["header"] = await ws.recv()
    await ws.close()
    ws = await WsClient.connect(url, query_token=user[1])
    out["query"] = await ws.recv()
    await ws.close()
    ws = await WsClient.connect(url)
    await ws.send({"type": "auth", "access_token": user[1]})
    out["message"] = await ws.recv()
    out["whoami"] = await ws.request("GET", f"{V3}/account/whoami")
    await ws.close()
    out["clean_close"] = list(await ws.wait_closed())
    return out


async def bad_tokens(url: str) -> JsonDict:
    """A bad token in the header and in an auth message."""
    out: JsonDict = {}
    ws = await WsClient.connect(url, "cht_not_a_real_token")
    out["header"] = [await ws.recv(), list(await ws.wait_closed())]
    ws = await WsClient.connect(url)
    await ws.send({"type": "auth", "access_token": "cht_nope"})
    out["message"] = [await ws.recv(), list(await ws.wait_closed())]
    return out


async def unauthenticated(url: str) -> JsonDict:
    """Before authenticating: requests go without a token; sync is refused."""
    ws = await WsClient.connect(url)
    out = {
        "whoami": await ws.request("GET", f"{V3}/account/whoami"),
        "versions": await ws.request("GET", "/_matrix/client/versions"),
    }
    await ws.send({"type": "sync"})
    out["sync"] = await ws.recv("error")
    await ws.close()
    return out


async def sync_push(url: str, alice: User, bob: User) -> JsonDict:
    """Alice's subscription gets Bob's message (sent over HTTP) promptly."""
    room_id = await _room_with(url, alice, bob)
    ws = await WsClient.connect(url, alice[1])
    await ws.recv("authenticated")
    await ws.send({"type": "sync"})
    first = await ws.recv("sync")
    await asyncio.sleep(1)  # the stream is now long-polling
    loop = asyncio.get_running_loop()
    sent_at = loop.time()
    event_id = await _send_text(url, bob, room_id, "hello over the socket")
    texts, _, _ = await _collect(ws, room_id, "hello over the socket")
    elapsed = loop.time() - sent_at
    await ws.close()
    return {
        "initial_rooms": list(first["body"]["rooms"]["join"]),
        "room_id": room_id,
        "first_keys": sorted(first["body"]),
        "texts": texts,
        "elapsed": elapsed,
        "event_id": event_id,
    }


async def requests(url: str, alice: User, bob: User) -> JsonDict:
    """Requests over the socket, answered as HTTP answers them."""
    a = await WsClient.connect(url, alice[1])
    b = await WsClient.connect(url, bob[1])
    await a.recv("authenticated")
    await b.recv("authenticated")
    out: JsonDict = {}
    created = await a.request("POST", f"{V3}/createRoom", {"name": "ws"})
    room = created["body"]["room_id"]
    out["created"] = created
    msg = {"msgtype": "m.text", "body": "sent over the socket"}
    send_path = f"{V3}/rooms/{room}/send/m.room.message/txn1"
    out["send"] = await a.request("PUT", send_path, msg)
    out["send_again"] = await a.request("PUT", send_path, msg)
    topic_path = f"{V3}/rooms/{room}/state/m.room.topic"
    out["set_state"] = await a.request("PUT", topic_path, {"topic": "socket topic"})
    out["get_state"] = await a.request("GET", topic_path)
    out["messages"] = await a.request(
        "GET", f"{V3}/rooms/{room}/messages?dir=b&limit=1"
    )
    out["forbidden"] = await b.request("PUT", f"{V3}/rooms/{room}/send/m.x/t1", {})
    out["forbidden_http"] = await ahttp(
        url, "PUT", f"{V3}/rooms/{room}/send/m.x/t1", {}, bob[1]
    )
    name_path = f"{V3}/rooms/{room}/state/m.room.name/nothing"
    out["not_found"] = await a.request("GET", name_path)
    out["not_found_http"] = await ahttp(url, "GET", name_path, None, alice[1])
    out["unknown_path"] = await a.request("GET", f"{V3}/no/such/endpoint")
    out["wrong_method"] = await a.request("DELETE", f"{V3}/createRoom")
    out["admin_path"] = await a.request("GET", "/_synapse/admin/v1/server_version")
    out["list_body"] = await a.request("PUT", f"{V3}/rooms/{room}/send/m.x/t2", [1])
    out["no_body"] = await a.request("PUT", f"{V3}/rooms/{room}/send/m.x/t3")
    await a.send({"type": "request", "method": "GET", "path": "/x"})
    out["no_id"] = await a.recv("error")
    await a.send({"type": "request", "id": "bad", "method": 5, "path": "/x"})
    out["bad_method"] = await a.response("bad")
    await a.send({"type": "frobnicate"})
    out["unknown_type"] = await a.recv("error")
    await a.send_raw(b"this is not json")
    out["not_json"] = await a.recv("error")
    await a.close()
    await b.close()
    return out


async def ephemeral_requests(url: str, alice: User) -> JsonDict:
    """Typing, receipts, read markers, presence, account data and to-device."""
    ws = await WsClient.connect(url, alice[1])
    device = (await ws.recv("authenticated"))["device_id"]
    room = (await ws.request("POST", f"{V3}/createRoom", {}))["body"]["room_id"]
    sent = await ws.request(
        "PUT", f"{V3}/rooms/{room}/send/m.room.message/e1", {"body": "x"}
    )
    event_id = sent["body"]["event_id"]
    user = alice[0]
    calls = {
        "typing": ("PUT", f"/rooms/{room}/typing/{user}", {"typing": True}),
        "receipt": ("POST", f"/rooms/{room}/receipt/m.read/{event_id}", {}),
        "read_markers": (
            "POST",
            f"/rooms/{room}/read_markers",
            {"m.fully_read": event_id},
        ),
        "presence": ("PUT", f"/presence/{user}/status", {"presence": "online"}),
        "account_data": ("PUT", f"/user/{user}/account_data/org.example.ws", {"a": 1}),
        "to_device": (
            "PUT",
            "/sendToDevice/org.example.ws/td1",
            {"messages": {user: {device: {"hello": "me"}}}},
        ),
    }
    out = {}
    for name, (method, path, body) in calls.items():
        out[name] = await ws.request(method, V3 + path, body)
    await ws.close()
    return out


async def ping(url: str, alice: User) -> JsonDict:
    ws = await WsClient.connect(url, alice[1])
    await ws.recv("authenticated")
    await ws.send({"type": "ping", "id": "p1"})
    first = await ws.recv("pong")
    await ws.send({"type": "ping"})
    second = await ws.recv("pong")
    await ws.close()
    return {"first": first, "second": second}


async def reconnect(url: str, alice: User, bob: User) -> JsonDict:
    """Drop the connection, reconnect from the last next_batch."""
    room_id = await _room_with(url, alice, bob)
    ws = await WsClient.connect(url, alice[1])
    await ws.send({"type": "sync"})
    await ws.recv("sync")
    for i in (1, 2, 3):
        await _send_text(url, bob, room_id, f"m{i}")
    before, last_batch, _ = await _collect(ws, room_id, "m3")
    ws.abort()  # the network goes away: no closing handshake
    for i in (4, 5, 6):
        await _send_text(url, bob, room_id, f"m{i}")
    ws = await WsClient.connect(url, alice[1])
    await ws.send({"type": "sync", "since": last_batch})
    after, _, _ = await _collect(ws, room_id, "m6")
    await _send_text(url, bob, room_id, "m7")
    live, _, _ = await _collect(ws, room_id, "m7")
    await ws.send({"type": "ping"})
    await ws.recv("pong")
    stray = [m for m in ws.backlog if m.get("type") == "sync"]
    await ws.close()
    return {"before": before, "after": after + live, "stray": stray}


def _to_device(sync: JsonDict) -> list[Any]:
    return [e["content"]["n"] for e in sync["body"]["to_device"]["events"]]


async def _send_to_device(
    url: str, sender: User, target: User, device: str, n: int
) -> None:
    status, body = await ahttp(
        url,
        "PUT",
        f"{V3}/sendToDevice/org.example.n/n{n}",
        {"messages": {target[0]: {device: {"n": n}}}},
        sender[1],
    )
    assert status == 200, body


async def _to_device_until(ws: WsClient, n: int) -> tuple[list[Any], str]:
    seen: list[Any] = []
    next_batch = ""
    while n not in seen:
        sync = await ws.recv("sync")
        seen += _to_device(sync)
        next_batch = sync["body"]["next_batch"]
    return seen, next_batch


async def to_device(url: str, alice: User, bob: User) -> JsonDict:
    """To-device messages: kept until acknowledged, never delivered twice."""
    ws = await WsClient.connect(url, alice[1])
    device = (await ws.recv("authenticated"))["device_id"]
    await ws.send({"type": "sync", "ack": True})
    initial = await ws.recv("sync")
    start = initial["body"]["next_batch"]
    await ws.send({"type": "ack", "next_batch": start})
    await _send_to_device(url, bob, alice, device, 1)
    first, _ = await _to_device_until(ws, 1)
    ws.abort()  # received but never acknowledged: the client "crashed"

    ws = await WsClient.connect(url, alice[1])
    await ws.send({"type": "sync", "since": start, "ack": True})
    again, batch = await _to_device_until(ws, 1)
    await ws.send({"type": "ack", "next_batch": batch})
    await _send_to_device(url, bob, alice, device, 2)
    then, batch = await _to_device_until(ws, 2)
    await ws.send({"type": "ack", "next_batch": batch})
    await ws.close()

    # Without ack mode the pong after each response acknowledges it.
    ws = await WsClient.connect(url, alice[1])
    await ws.send({"type": "sync", "since": batch})
    await _send_to_device(url, bob, alice, device, 3)
    plain, _ = await _to_device_until(ws, 3)
    await _send_to_device(url, bob, alice, device, 4)
    plain_more, batch = await _to_device_until(ws, 4)
    ws.abort()
    ws = await WsClient.connect(url, alice[1])
    await ws.send({"type": "sync", "since": batch})
    await _send_to_device(url, bob, alice, device, 5)
    resumed, _ = await _to_device_until(ws, 5)
    await ws.close()
    return {
        "first": first,
        "again": again,
        "then": then,
        "plain": plain + plain_more,
        "resumed": resumed,
    }


async def slow_sync_reader(url: str, alice: User, bob: User) -> JsonDict:
    """Alice stops reading while Bob sends many large messages."""
    room_id = await _room_with(url, alice, bob)
    sync_filter = {"room": {"timeline": {"limit": 100}}}
    ws = await WsClient.connect(url, alice[1], receive_buffer=8192)
    await ws.send({"type": "sync", "filter": sync_filter})
    first = await ws.recv("sync")
    last_batch = first["body"]["next_batch"]
    ws.pause_reading()
    loop = asyncio.get_running_loop()
    paused_at = loop.time()
    padding = "x" * 30_000

    async def send_all() -> None:
        for i in range(40):
            await _send_text(url, bob, room_id, f"big{i:02d} {padding}")

    sending = asyncio.ensure_future(send_all())
    # The server gives up 2 s after its first undelivered response, and aborts
    # the connection 5 s after that: resume in between to read the close frame.
    await asyncio.sleep(max(0.0, paused_at + 4.5 - loop.time()))
    ws.resume_reading()
    close = await ws.wait_closed(15)
    await sending
    texts: list[str] = []
    syncs = 0
    while True:
        try:
            sync = await ws.recv("sync", timeout=0.5)
        except TimeoutError:
            break
        syncs += 1
        texts += _texts(sync, room_id)
        last_batch = sync["body"]["next_batch"]
    ws = await WsClient.connect(url, alice[1])
    await ws.send({"type": "sync", "filter": sync_filter, "since": last_batch})
    markers = [t.split()[0] for t in texts]
    if "big39" not in markers:
        more, _, _ = await _collect(ws, room_id, f"big39 {padding}")
        markers += [t.split()[0] for t in more]
    await ws.close()
    return {"close": list(close), "syncs_while_paused": syncs, "markers": markers}


async def flood_requests(url: str, alice: User, room_id: str) -> JsonDict:
    """Alice pipelines large requests and reads none of the answers."""
    ws = await WsClient.connect(url, alice[1], receive_buffer=8192)
    await ws.recv("authenticated")
    ws.pause_reading()
    path = f"{V3}/rooms/{room_id}/messages?dir=b&limit=40"
    for wave in range(6):
        for i in range(16):
            await ws.send(
                {"type": "request", "id": f"{wave}.{i}", "method": "GET", "path": path}
            )
        await asyncio.sleep(0.25)
    ws.resume_reading()
    close = await ws.wait_closed(15)
    return {"close": list(close), "received_bytes": ws.received_bytes}


async def send_one(url: str, token: str, room_id: str, text: str) -> JsonDict:
    """One message sent over the socket; the response message."""
    socket = await WsClient.connect(url, token)
    await socket.recv("authenticated")
    path = f"{V3}/rooms/{room_id}/send/m.room.message/{uuid.uuid4().hex}"
    return await socket.request("PUT", path, {"msgtype": "m.text", "body": text})


async def _send_note(url: str, sender: User, room_id: str, text: str) -> None:
    status, body = await ahttp(
        url,
        "PUT",
        f"{V3}/rooms/{room_id}/send/com.example.note/{uuid.uuid4().hex}",
        {"body": text},
        sender[1],
    )
    assert status == 200, body


async def filtered_streams(url: str, alice: User, bob: User) -> JsonDict:
    """Alice streams only messages, Bob everything but messages (inline
    filters), while both kinds arrive in their room over three rounds."""
    room_id = await _room_with(url, alice, bob)
    only = {"room": {"timeline": {"types": ["m.room.message"]}}}
    but = {"room": {"timeline": {"not_types": ["m.room.message"]}}}
    sockets = {}
    for user, sync_filter in ((alice, only), (bob, but)):
        ws = await WsClient.connect(url, user[1])
        await ws.send({"type": "sync", "filter": sync_filter})
        await ws.recv("sync")
        sockets[user[0]] = ws
    await asyncio.sleep(0.5)  # both streams are now waiting
    for i in range(3):
        await _send_note(url, bob, room_id, f"note{i}")
        await _send_text(url, bob, room_id, f"text{i}")
    seen: dict[str, list[str]] = {}
    for user_id, until in ((alice[0], "text2"), (bob[0], "note2")):
        types: list[str] = []
        while until not in types:
            sync = await sockets[user_id].recv("sync", 15)
            room = sync["body"]["rooms"]["join"].get(room_id, {})
            for event in room.get("timeline", {}).get("events", []):
                types.append(event["type"])
                types.append(event["content"].get("body", ""))
        seen[user_id] = types
        await sockets[user_id].close()
    return seen
