"""Group commit of sends (services/rooms/send_batches.py): messages queued
while a commit is in flight are written together, each built on the one
before; a failed batch fails only what cannot be written.

The test database runs inline, so a commit "in flight" is made by holding
the first batch at a gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from twisted.internet import defer

from homeserver.errors import MatrixError
from homeserver.events.model import Event
from homeserver.storage.stores.event_persistence import FreshWrite
from tests.rooms.test_dag_storage import extremities
from tests.storage.test_forward_extremities import _table as stored_tips
from tests.support.server import TestServer


class _Gate:
    """Holds the first batch until opened; records every batch's bodies."""

    def __init__(self, server: TestServer) -> None:
        persister = server.hs.rooms.event_creation.persister
        self.real = persister.persist_batch
        self.opened: defer.Deferred[None] = defer.Deferred()
        self.batches: list[list[str]] = []
        self.held = False
        persister.persist_batch = self.persist_batch  # type: ignore[method-assign]

    async def persist_batch(self, writes: Sequence[FreshWrite]) -> list[int | None]:
        self.batches.append([w.event.content.get("body", "") for w in writes])
        if not self.held:
            self.held = True
            await self.opened
        return await self.real(writes)


def _send(server: TestServer, user: Any, room_id: str, body: str) -> Any:
    return defer.ensureDeferred(
        server.hs.rooms.event_creation.send(
            room_id,
            user.user_id,
            "m.room.message",
            {"msgtype": "m.text", "body": body},
            device_id=user.device_id,
            txn_id=f"txn-{body}",
        )
    )


def _stored(server: TestServer, room_id: str) -> list[tuple[str, int, int]]:
    """(event ID, depth, stream ordering) of the room's events, by ordering."""
    rows = server.get_success(
        server.db.run_read(
            "messages",
            lambda txn: txn.query(
                "SELECT event_id, depth, stream_ordering FROM events"
                " WHERE room_id = ? ORDER BY stream_ordering",
                (room_id,),
            ),
        )
    )
    return [(r.event_id, r.depth, r.stream_ordering) for r in rows]


def _check_chain(server: TestServer, room_id: str, events: list[Event]) -> None:
    """Each event names the one before as its only prev, one deeper, with a
    higher stream ordering; the tips (memory and database) are the last."""
    events = sorted(events, key=lambda e: e.stream_ordering or 0)
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_event_ids == [before.event_id]
        assert after.depth == before.depth + 1
        assert (after.stream_ordering or 0) > (before.stream_ordering or 0)
    stored = _stored(server, room_id)[-len(events) :]
    assert [row[0] for row in stored] == [e.event_id for e in events]
    assert [row[1] for row in stored] == [e.depth for e in events]
    assert [row[2] for row in stored] == [e.stream_ordering for e in events]
    last = {events[-1].event_id}
    assert extremities(server, room_id) == stored_tips(server, room_id) == last


def test_concurrent_sends_share_one_commit(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    gate = _Gate(server)
    sends = [_send(server, alice, room_id, f"m{n}") for n in range(8)]
    server.reactor.advance(0)
    assert not any(d.called for d in sends)  # none answered before its commit
    gate.opened.callback(None)
    events = [server.get_success(d) for d in sends]
    # 8 sends, 2 commits: the first alone, then the 7 queued meanwhile.
    assert gate.batches == [["m0"], [f"m{n}" for n in range(1, 8)]]
    _check_chain(server, room_id, events)
    # The next send builds on the committed tips as before.
    after = server.get_success(_send(server, alice, room_id, "later"))
    _check_chain(server, room_id, [*events, after])


def test_state_event_waits_for_queued_messages(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    gate = _Gate(server)
    sends = [_send(server, alice, room_id, f"m{n}") for n in range(3)]
    topic = defer.ensureDeferred(
        server.hs.rooms.event_creation.send(
            room_id, alice.user_id, "m.room.topic", {"topic": "t"}, state_key=""
        )
    )
    server.reactor.advance(0)
    assert not topic.called
    gate.opened.callback(None)
    events = [server.get_success(d) for d in sends]
    state = server.get_success(topic)
    _check_chain(server, room_id, [*events, state])


def test_a_refused_event_does_not_poison_the_batch(server: TestServer) -> None:
    alice, mallory = server.user("alice"), server.user("mallory")
    room_id = alice.create_room()
    gate = _Gate(server)
    first = _send(server, alice, room_id, "m0")
    refused = _send(server, mallory, room_id, "not a member")
    rest = [_send(server, alice, room_id, f"m{n}") for n in range(1, 4)]
    server.reactor.advance(0)
    gate.opened.callback(None)
    events = [server.get_success(d) for d in [first, *rest]]
    with pytest.raises(MatrixError) as failed:
        server.get_success(refused)
    assert failed.value.code == 403
    assert gate.batches == [["m0"], ["m1", "m2", "m3"]]
    _check_chain(server, room_id, events)


def _fail_writes_of(
    server: TestServer, monkeypatch: pytest.MonkeyPatch, body: str, times: int
) -> list[int]:
    """Make the write of the event with ``body`` raise ``times`` times."""
    persister = server.hs.rooms.event_creation.persister
    real = persister._persist_new_txn
    failed = [0]

    def persist_new_txn(txn: Any, event: Event, *args: Any) -> Any:
        if event.content.get("body") == body and failed[0] < times:
            failed[0] += 1
            raise RuntimeError("the database said no")
        return real(txn, event, *args)

    monkeypatch.setattr(persister, "_persist_new_txn", persist_new_txn)
    return failed


def _gated_room_failing(
    server: TestServer, monkeypatch: pytest.MonkeyPatch, body: str, times: int
) -> tuple[Any, str, _Gate, list[int]]:
    """Alice's room, its first batch held at a gate, and the write of the
    event with ``body`` failing ``times`` times."""
    alice = server.user("alice")
    room_id = alice.create_room()
    gate = _Gate(server)
    return alice, room_id, gate, _fail_writes_of(server, monkeypatch, body, times)


def test_a_bad_event_fails_alone_and_tips_roll_back(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, room_id, gate, _ = _gated_room_failing(server, monkeypatch, "bad", 100)
    first = _send(server, alice, room_id, "m0")
    queued = [_send(server, alice, room_id, b) for b in ("m1", "bad", "m2", "m3")]
    server.reactor.advance(0)
    gate.opened.callback(None)
    with pytest.raises(RuntimeError):
        server.get_success(queued[1])
    events = [server.get_success(d) for d in [first, queued[0], *queued[2:]]]
    # The batch failed; written again one by one: m1 went in, "bad" failed,
    # m2 and m3 (built on it) were built again on m1 and committed.
    assert gate.batches[:3] == [["m0"], ["m1", "bad", "m2", "m3"], ["m1"]]
    assert [row[0] for row in _stored(server, room_id)][-4:] == [
        e.event_id for e in events
    ]  # and nothing of "bad"
    _check_chain(server, room_id, events)


def test_a_passing_database_error_is_retried(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, room_id, gate, failed = _gated_room_failing(server, monkeypatch, "m2", 1)
    sends = [_send(server, alice, room_id, f"m{n}") for n in range(5)]
    server.reactor.advance(0)
    gate.opened.callback(None)
    events = [server.get_success(d) for d in sends]
    assert failed == [1]
    # The batch failed once; written again one by one, every event went in.
    assert gate.batches == [
        ["m0"],
        ["m1", "m2", "m3", "m4"],
        *[[f"m{n}"] for n in range(1, 5)],
    ]
    _check_chain(server, room_id, events)


def test_a_retry_while_queued_gets_the_queued_event(server: TestServer) -> None:
    """An identical request while the first one's event is queued waits for
    its commit and gets it back: one event, announced once."""
    alice = server.user("alice")
    room_id = alice.create_room()
    announced: list[str] = []
    server.hs.core.signals.new_event.connect(
        lambda new: announced.append(new.event.event_id), name="test"
    )
    gate = _Gate(server)
    first = _send(server, alice, room_id, "m0")
    sends = [_send(server, alice, room_id, "twice") for _ in range(2)]
    server.reactor.advance(0)
    gate.opened.callback(None)
    server.get_success(first)
    one, two = (server.get_success(d) for d in sends)
    assert one.event_id == two.event_id
    assert announced.count(one.event_id) == 1
    assert gate.batches == [["m0"], ["twice"]]
