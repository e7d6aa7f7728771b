"""The durable per-AS queue: an AS that is down, or a restart of our server,
loses nothing and duplicates nothing; a retried transaction keeps its txnId;
events arrive in order. And the admin API of the queues."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.appservices.kit import AsHarness
from tests.support.server import TestServer

QUEUES = "/_chatly/admin/v1/appservices"


@pytest.fixture
def harness(make_server: Callable[..., TestServer]) -> Iterator[AsHarness]:
    h = AsHarness(make_server, users=(r"@irc_.*:test",))
    yield h
    h.close()


def _bridged_room(harness: AsHarness) -> tuple[Any, str]:
    alice = harness.server.user("alice")
    room = alice.create_room()
    irc = harness.server.user("irc_dave")
    alice.invite(room, irc.user_id)
    irc.join(room)
    return alice, room


def _messages(harness: AsHarness) -> list[str]:
    return [
        e["content"]["body"]
        for e in harness.fake.events()
        if e["type"] == "m.room.message"
    ]


def test_an_as_that_was_down_gets_everything_once_in_order(harness: AsHarness) -> None:
    alice, room = _bridged_room(harness)
    harness.settle()
    harness.listener.stop()
    sent = [f"while down {i}" for i in range(12)]
    for body in sent:
        alice.send(room, body)
    # At least one attempt failed and the queue is backing off.
    harness.pump(lambda: _queue(harness)["failure_ts"] is not None)
    state = _queue(harness)
    assert state["pending"] == len(sent)
    assert state["next_retry_ts"] is not None
    failing_txn = state["in_flight_txn_id"]
    assert failing_txn is not None

    harness.listener.start()
    # The backoff timer (fake time) brings it back.
    harness.pump(lambda: _messages(harness) == sent, advance=1)
    harness.settle()
    assert _messages(harness) == sent
    txn_paths = [t.path for t in harness.fake.transactions()]
    assert len(txn_paths) == len(set(txn_paths))  # nothing acknowledged twice
    assert txn_paths[-1].endswith(f"/{failing_txn}") or any(
        p.endswith(f"/{failing_txn}") for p in txn_paths
    )
    state = _queue(harness)
    assert state["pending"] == 0
    assert state["failure_ts"] is None and state["last_success_ts"] is not None


def test_a_failing_as_gets_the_same_txn_id_again(harness: AsHarness) -> None:
    alice, room = _bridged_room(harness)
    harness.settle()
    harness.fake.status = 500
    before = len(harness.fake.transactions())
    alice.send(room, "first")
    harness.pump(lambda: len(harness.fake.transactions()) >= before + 2, advance=1)
    harness.fake.status = 200
    alice.send(room, "second")
    harness.pump(lambda: _messages(harness) == ["first", "second"], advance=1)
    failed = [t for t in harness.fake.transactions() if "first" in str(t.body)]
    assert len({t.path for t in failed}) == 1  # every retry: the same txnId
    assert len(failed) >= 3  # two failures and the success
    assert {str(t.body) for t in failed} == {str(failed[0].body)}


def test_nothing_is_lost_across_a_restart_of_our_server(
    harness: AsHarness, tmp_path: Path
) -> None:
    alice, room = _bridged_room(harness)
    harness.settle()
    harness.listener.stop()
    for i in range(5):
        alice.send(room, f"before restart {i}")
    harness.pump(lambda: _queue(harness)["failure_ts"] is not None)
    engine = harness.server.db.engine

    def restarted(overrides: dict[str, Any], **kwargs: Any) -> TestServer:
        return TestServer(engine, overrides, tmp_path, **kwargs)

    harness.server = harness.new_server(restarted)
    alice = alice.on(harness.server)
    alice.send(room, "after restart")
    harness.listener.start()
    expected = [f"before restart {i}" for i in range(5)] + ["after restart"]
    harness.pump(lambda: _messages(harness) == expected, advance=1)
    harness.settle()
    assert _messages(harness) == expected
    paths = [t.path for t in harness.fake.transactions()]
    assert len(paths) == len(set(paths))


def test_events_sent_while_our_server_was_down_are_caught_up(
    harness: AsHarness, tmp_path: Path
) -> None:
    """Events persisted but not yet queued (the sender's position is behind)
    are queued at start-up."""
    alice, room = _bridged_room(harness)
    harness.settle()
    sender = harness.server.hs.appservice_outbound.sender
    sender.position = None  # this server stops following the stream
    for i in range(3):
        alice.send(room, f"unqueued {i}")
    engine = harness.server.db.engine
    harness.server = harness.new_server(
        lambda overrides, **kw: TestServer(engine, overrides, tmp_path, **kw)
    )
    expected = [f"unqueued {i}" for i in range(3)]
    harness.pump(lambda: _messages(harness) == expected)


def test_admin_shows_the_queue_and_retries_at_once(harness: AsHarness) -> None:
    admin = harness.server.user("root", admin=True)
    alice, room = _bridged_room(harness)
    harness.settle()
    listed = admin.get(QUEUES, expect=200).json
    assert listed["total"] == 1
    assert listed["appservices"][0]["id"] == "bridge"
    assert listed["appservices"][0]["pending"] == 0
    harness.fake.status = 503
    alice.send(room, "queued")
    harness.pump(lambda: _queue(harness)["failure_ts"] is not None)
    attempts = len(harness.fake.transactions())
    harness.fake.status = 200
    # No fake time passes: only the admin's retry can send it now.
    admin.post(f"{QUEUES}/bridge/retry", {}, expect=200)
    harness.pump(lambda: "queued" in _messages(harness))
    assert len(harness.fake.transactions()) == attempts + 1
    harness.settle()
    assert _queue(harness)["failure_ts"] is None
    admin.get(f"{QUEUES}/nope", expect=404)
    admin.post(f"{QUEUES}/nope/retry", {}, expect=404)
    assert alice.get(QUEUES).code == 403


def _queue(harness: AsHarness) -> dict[str, Any]:
    """The queue as the admin API shows it (read through its service: the
    endpoint itself is tested above)."""
    server = harness.server
    result: dict[str, Any] = server.get_success(
        server.hs.appservice_outbound.admin.get_queue("bridge")
    )
    return result
