"""A real worker deployment (tests/support/deployment.py): main, two client
readers, an event persister and a federation sender on PostgreSQL and Redis,
started by ``synctl start`` and behind Debian's nginx running the config
``synctl workers generate`` wrote.

Each process logs to a file of its own, so where nginx sent a request is read
from the logs: a user's /sync always reaches one reader, writes reach main,
and the internal replication API is never reachable through the proxy.

matrix-nio clients on different readers (directly, and through nginx) see each
other's messages, typing, receipts and presence; then the faults of issue 18,
each counted as lost and duplicated events (goal 0 and 0): a client reader
killed with ``kill -9`` under load, and the event persister restarted. (Redis
restarted: test_redis_restart.py, on a Redis of its own.)
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import nio
import pytest

from tests.interop.client import HttpError, request
from tests.support.deployment import Deployment, request_text, running_deployment
from tests.workers.nio_kit import (
    close_all,
    count_under_fault,
    ephemeral,
    sync_until,
    timeline,
    trio,
)

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("deployment")]

C = "/_matrix/client/v3"
READERS = ("reader1", "reader2")


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with running_deployment(request, tmp_path_factory.mktemp("workers")) as running:
        yield running


def _hits(deployment: Deployment, name: str, pattern: str) -> int:
    """How many requests matching ``pattern`` process ``name`` has logged."""
    return len(re.findall(pattern, deployment.log_of(name)))


def _wait_for_hits(deployment: Deployment, pattern: str, total: int) -> dict[str, int]:
    """Per process, its logged requests matching ``pattern`` once they add up
    to ``total`` (access lines are written as each response goes out)."""
    names = ("main", *READERS)
    for _ in range(50):
        hits = {name: _hits(deployment, name, pattern) for name in names}
        if sum(hits.values()) >= total:
            return hits
        time.sleep(0.1)
    return hits


def test_every_process_runs_and_logs_on_its_own(deployment: Deployment) -> None:
    status = deployment.synctl_status()
    assert status.returncode == 0, status.stdout + status.stderr
    for name, role in deployment.instances:
        assert f"{name:<16} {role:<18} pid {deployment.pid(name)}" in status.stdout
        log = deployment.log_of(name)
        assert f"(process {name})" in log
        assert "(process main)" not in log
    assert "(process reader1)" not in deployment.log_of("main")


def test_sync_sticks_to_one_reader_per_user(deployment: Deployment) -> None:
    """Each user's /sync goes to one reader, and users spread over both: new
    users until both readers had some (the hash is of a random access token,
    so six users all on one reader happened once in 32 runs)."""
    readers_used: set[str] = set()
    for number in range(24):
        if number >= 4 and readers_used == set(READERS):
            break
        user = deployment.register(f"sticky{number}")
        path = f"GET {C}/sync\\?timeout=0&marker={user.device_id} "
        for _ in range(4):
            request(
                "GET",
                f"{deployment.proxy_url}{C}/sync?timeout=0&marker={user.device_id}",
                token=user.token,
            )
        hits = _wait_for_hits(deployment, path, 4)
        assert hits["main"] == 0
        assert sorted(hits[r] for r in READERS) == [0, 4], hits  # one reader only
        readers_used |= {r for r in READERS if hits[r]}
    assert readers_used == set(READERS)  # users spread over both readers


def test_reads_go_to_readers_and_writes_to_main(deployment: Deployment) -> None:
    user = deployment.register("router")
    proxy = deployment.proxy_url
    room = request("POST", f"{proxy}{C}/createRoom", {}, token=user.token)["room_id"]
    send = f"{C}/rooms/{room}/send/m.room.message/"
    for txn in range(3):
        request(
            "PUT",
            f"{proxy}{send}t{txn}",
            {"msgtype": "m.text", "body": "hi"},
            token=user.token,
        )
    messages = f"{C}/rooms/{room}/messages"
    for _ in range(3):
        request("GET", f"{proxy}{messages}?dir=b", token=user.token)
    sends = _wait_for_hits(deployment, re.escape(f"PUT {send}"), 3)
    reads = _wait_for_hits(deployment, re.escape(f"GET {messages}?dir=b "), 3)
    assert sends == {"main": 3, "reader1": 0, "reader2": 0}
    assert reads["main"] == 0 and reads["reader1"] + reads["reader2"] == 3


@pytest.mark.parametrize(
    "path", ["/_chatly/replication/status", "/metrics", "/_synapse/metrics"]
)
def test_internal_paths_are_not_reachable_through_nginx(
    deployment: Deployment, path: str
) -> None:
    with pytest.raises(HttpError) as refused:
        request("GET", deployment.proxy_url + path)
    assert refused.value.status == 404
    assert refused.value.errcode == "M_UNRECOGNIZED"


def test_replication_status_needs_the_secret(deployment: Deployment) -> None:
    status = deployment.replication_status("reader1")
    assert status["name"] == "reader1" and status["role"] == "client_reader"
    assert set(status["positions"]) >= {"events", "typing", "receipts", "presence"}
    with pytest.raises(HttpError) as refused:
        request("GET", deployment.url("reader1") + "/_chatly/replication/status")
    assert refused.value.status == 403
    assert refused.value.errcode == "M_FORBIDDEN"


def test_metrics_show_replication_lag_and_positions(deployment: Deployment) -> None:
    """Typing through nginx (written by main) shows on the other processes'
    /metrics as the typing stream's lag and main's position on it."""
    user = deployment.register("typist")
    proxy = deployment.proxy_url
    room = request("POST", f"{proxy}{C}/createRoom", {}, token=user.token)["room_id"]
    request(
        "PUT",
        f"{proxy}{C}/rooms/{room}/typing/{user.user_id}",
        {"typing": True, "timeout": 30000},
        token=user.token,
    )
    lag = re.compile(r'^homeserver_replication_lag_seconds{stream="typing"} ', re.M)
    position = re.compile(
        r'^homeserver_replication_position{stream="typing",writer="main"} (\S+)$', re.M
    )
    for name in ("reader1", "reader2", "persister1"):
        for _ in range(50):
            text = request_text(deployment.url(name) + "/metrics")
            found = position.search(text)
            if found and float(found.group(1)) > 0:
                break
            time.sleep(0.1)
        assert found and float(found.group(1)) > 0, (name, found)
        assert lag.search(text), name


def _texts(response: nio.SyncResponse, room_id: str) -> set[str]:
    return {
        e.body
        for e in timeline(response, room_id)
        if isinstance(e, nio.RoomMessageText)
    }


def test_messages_reach_clients_on_every_reader(deployment: Deployment) -> None:
    async def run() -> None:
        alice, bob, carol, room_id = await trio(deployment)
        try:
            for sender, text in (
                (alice, "from reader1"),
                (bob, "from reader2"),
                (carol, "through nginx"),
            ):
                sent = await sender.room_send(
                    room_id, "m.room.message", {"msgtype": "m.text", "body": text}
                )
                assert isinstance(sent, nio.RoomSendResponse), sent
                for reader in (alice, bob, carol):
                    await sync_until(
                        reader, lambda r, text=text: text in _texts(r, room_id)
                    )
        finally:
            await close_all(alice, bob, carol)

    asyncio.run(run())


def test_typing_reaches_the_other_reader(deployment: Deployment) -> None:
    async def run() -> None:
        alice, bob, carol, room_id = await trio(deployment)
        try:
            typed = await alice.room_typing(room_id, True, timeout=20000)
            assert isinstance(typed, nio.RoomTypingResponse), typed

            def typing_alice(response: nio.SyncResponse) -> bool:
                return any(
                    isinstance(e, nio.TypingNoticeEvent) and alice.user_id in e.users
                    for e in ephemeral(response, room_id)
                )

            await sync_until(bob, typing_alice)
            await sync_until(carol, typing_alice)
        finally:
            await close_all(alice, bob, carol)

    asyncio.run(run())


def test_receipts_reach_the_other_reader(deployment: Deployment) -> None:
    async def run() -> None:
        alice, bob, carol, room_id = await trio(deployment)
        try:
            sent = await alice.room_send(
                room_id, "m.room.message", {"msgtype": "m.text", "body": "read me"}
            )
            assert isinstance(sent, nio.RoomSendResponse), sent
            marked = await bob.room_read_markers(room_id, sent.event_id, sent.event_id)
            assert isinstance(marked, nio.RoomReadMarkersResponse), marked

            def bob_read(response: nio.SyncResponse) -> bool:
                return any(
                    isinstance(e, nio.ReceiptEvent)
                    and any(
                        r.event_id == sent.event_id and r.user_id == bob.user_id
                        for r in e.receipts
                    )
                    for e in ephemeral(response, room_id)
                )

            await sync_until(alice, bob_read)
            await sync_until(carol, bob_read)
        finally:
            await close_all(alice, bob, carol)

    asyncio.run(run())


def test_presence_reaches_the_other_reader(deployment: Deployment) -> None:
    async def run() -> None:
        alice, bob, carol, room_id = await trio(deployment)
        try:
            status = "on reader1"
            done = await alice.set_presence("online", status)
            assert isinstance(done, nio.PresenceSetResponse), done

            def alice_online(response: nio.SyncResponse) -> bool:
                return any(
                    e.user_id == alice.user_id
                    and e.presence == "online"
                    and e.status_msg == status
                    for e in response.presence_events
                )

            await sync_until(bob, alice_online)
            await sync_until(carol, alice_online)
        finally:
            await close_all(alice, bob, carol)

    asyncio.run(run())


def test_synctl_status_shows_positions_and_lag(deployment: Deployment) -> None:
    status = deployment.synctl_status()
    assert status.returncode == 0, status.stdout + status.stderr
    for name, role in deployment.instances:
        assert f"{name:<16} {role:<18} pid {deployment.pid(name)}" in status.stdout
    assert "redis connected" in status.stdout
    for _ in range(50):  # replication may be a moment behind
        main = deployment.replication_status("main")
        reader = deployment.replication_status("reader1")
        if reader["positions"]["events"] == main["positions"]["events"]:
            break
        time.sleep(0.1)
    assert reader["role"] == "client_reader" and reader["redis"] == "connected"
    assert reader["positions"]["events"] == main["positions"]["events"] > 0


LOAD = 150


def test_reader_killed_under_load(deployment: Deployment) -> None:
    """kill -9 reader1 while messages flow: reader2 and nginx keep serving
    without a gap; reader1's client resumes from its token after the restart."""

    pids = []

    def kill_and_restart() -> None:
        pids.append(deployment.pid("reader1"))
        deployment.kill("reader1")
        time.sleep(2)  # reader1's client gets no answers meanwhile
        deployment.start_worker("reader1")
        pids.append(deployment.pid("reader1"))

    counts, sender = asyncio.run(count_under_fault(deployment, kill_and_restart, LOAD))
    print("reader kill -9:", counts, "sender retries", sender.retries)
    assert sender.failures == [] and len(sender.acked) == LOAD
    for name, count in counts.items():
        assert (name, count.lost, count.duplicated) == (name, 0, 0)
    assert counts["reader2"].errors == 0  # the other reader never failed
    assert None not in pids and pids[0] != pids[1]  # killed, and a new process


def test_event_persister_restart(deployment: Deployment) -> None:
    """Restart the event persister while messages are sent: sends wait or fail
    with a retryable error (retried with the same transaction ID); nothing
    acknowledged is lost and nothing is doubled."""

    def restart() -> None:
        deployment.restart_worker("persister1")

    counts, sender = asyncio.run(count_under_fault(deployment, restart, LOAD))
    print("persister restart:", counts, "sender retries", sender.retries)
    assert sender.failures == [] and len(sender.acked) == LOAD
    for name, count in counts.items():
        assert (name, count.lost, count.duplicated) == (name, 0, 0)
    assert len(set(sender.acked.values())) == LOAD  # one event per transaction
