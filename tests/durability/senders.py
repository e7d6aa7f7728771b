"""Concurrent senders that record what the server acknowledged, and the checks
run after a crash: every acknowledged event is there, nothing is there twice.

A sender is one user with its own access token, sending ``m.room.message``
events with transaction IDs ``<name>-<n>`` (the body is the transaction ID)
until a send fails, as it does once the server is killed. A send is
*acknowledged* when it got 200 with an ``event_id``; a send that got no answer
was *in flight* at the crash: it may or may not have been stored, and its
client retries it with the same transaction ID.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from tests.e2e.conftest import RunningServer
from tests.e2e.synadm import http

API = "/_matrix/client/v3"
# A safety net for a broken test, never an assertion about timing.
SAFETY_NET_S = 90.0


class Sender(threading.Thread):
    """One user sending up to ``limit`` messages into ``room_id``."""

    def __init__(
        self, server: RunningServer, token: str, room_id: str, name: str, limit: int
    ) -> None:
        super().__init__(name=f"sender-{name}", daemon=True)
        self.server = server
        self.token = token
        self.room_id = room_id
        self.sender_name = name
        self.limit = limit
        self.acknowledged: dict[str, str] = {}  # txn ID -> event ID
        self.in_flight: list[str] = []  # sent, no 200: the crash came first
        self.lock = threading.Lock()

    def path(self, txn_id: str) -> str:
        room = quote(self.room_id, safe="")
        return f"{API}/rooms/{room}/send/m.room.message/{txn_id}"

    def send(self, txn_id: str) -> tuple[int, dict[str, Any]]:
        """One PUT; its status and JSON body."""
        code, raw = http(
            self.server,
            "PUT",
            self.path(txn_id),
            {"msgtype": "m.text", "body": txn_id},
            token=self.token,
        )
        return code, json.loads(raw or b"{}")

    def run(self) -> None:
        for n in range(self.limit):
            txn_id = f"{self.sender_name}-{n}"
            try:
                code, body = self.send(txn_id)
            except OSError:  # refused or reset: the server is gone
                code, body = 0, {}
            with self.lock:
                if code == 200 and "event_id" in body:
                    self.acknowledged[txn_id] = body["event_id"]
                else:
                    self.in_flight.append(txn_id)
                    return

    def acknowledged_count(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def send_until_crash(
    senders: list[Sender], rng: random.Random, crash: Callable[[], None]
) -> int:
    """Start the senders; once a random number of sends are acknowledged (and
    a random moment later) call ``crash``; wait for every sender to stop.
    Returns how many sends were acknowledged before the crash was called."""
    total = sum(s.limit for s in senders)
    target = rng.randint(total // 4, total * 2 // 3)
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + SAFETY_NET_S
    while sum(s.acknowledged_count() for s in senders) < target:
        assert time.monotonic() < deadline, "the senders never reached the target"
        assert any(s.is_alive() for s in senders), "every sender stopped early"
        time.sleep(0.002)
    time.sleep(rng.uniform(0, 0.03))
    acknowledged = sum(s.acknowledged_count() for s in senders)
    crash()
    for sender in senders:
        sender.join(SAFETY_NET_S)
        assert not sender.is_alive(), "a sender hung after the crash"
    return acknowledged


def retry_and_check(senders: list[Sender]) -> None:
    """After the restart each client retries what it sent with the same
    transaction ID: an acknowledged send answers its first event ID again; a
    send in flight at the crash is now stored (once)."""
    for sender in senders:
        for txn_id, event_id in sender.acknowledged.items():
            code, body = sender.send(txn_id)
            assert (code, body.get("event_id")) == (200, event_id), (
                f"{txn_id} was acknowledged as {event_id} but is lost: "
                f"sending it again answered {code} {body}"
            )
        for txn_id in sender.in_flight:
            code, body = sender.send(txn_id)
            assert code == 200 and "event_id" in body, (txn_id, code, body)
            sender.acknowledged[txn_id] = body["event_id"]


def room_messages(server: RunningServer, token: str, room_id: str) -> list[Any]:
    """Every m.room.message event of the room, newest first, through /messages
    paginated backwards from the end."""
    room = quote(room_id, safe="")
    events: list[Any] = []
    token_from = ""
    for _ in range(100):
        query = f"?dir=b&limit=50{token_from}"
        code, raw = http(
            server, "GET", f"{API}/rooms/{room}/messages{query}", None, token
        )
        assert code == 200, raw
        page = json.loads(raw)
        events += [e for e in page["chunk"] if e["type"] == "m.room.message"]
        if not page["chunk"] or "end" not in page:
            return events
        token_from = f"&from={quote(page['end'], safe='')}"
    raise AssertionError("/messages never reached the start of the room")


def synced_messages(server: RunningServer, token: str, room_id: str) -> list[Any]:
    """The room's m.room.message events in an initial /sync with a timeline
    long enough for the whole test."""
    query = quote(json.dumps({"room": {"timeline": {"limit": 500}}}), safe="")
    code, raw = http(server, "GET", f"{API}/sync?filter={query}", None, token)
    assert code == 200, raw
    timeline = json.loads(raw)["rooms"]["join"][room_id]["timeline"]
    assert not timeline.get("limited"), "the test room outgrew the sync timeline"
    return [e for e in timeline["events"] if e["type"] == "m.room.message"]


def check_all_there_once(
    server: RunningServer, token: str, room_id: str, senders: list[Sender]
) -> None:
    """Every send (acknowledged, or retried after the crash) is one event in
    /messages and in /sync, under the event ID the client got; none twice."""
    expected = {txn: ev for s in senders for txn, ev in s.acknowledged.items()}
    for source in (room_messages, synced_messages):
        events = source(server, token, room_id)
        found: dict[str, list[str]] = {}
        for event in events:
            found.setdefault(event["content"]["body"], []).append(event["event_id"])
        twice = {body: ids for body, ids in found.items() if len(ids) > 1}
        assert not twice, f"{source.__name__}: stored more than once: {twice}"
        wrong = {
            txn: (ev, found.get(txn)) for txn, ev in expected.items()
            if found.get(txn) != [ev]
        }  # fmt: skip
        assert not wrong, f"{source.__name__}: acknowledged but missing: {wrong}"
        assert set(found) == set(expected), f"{source.__name__}: unexpected events"
