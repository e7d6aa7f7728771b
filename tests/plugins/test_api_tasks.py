"""The facade's background work: timers, loops and tasks on the server's
clock (the test clock here), cancelled at shutdown; a reminder that survives
a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prometheus_client import REGISTRY

from tests.plugins.api_kit import facade, reminder_config, run
from tests.support import bodies
from tests.support.server import TestServer


def _failures(name: str) -> float:
    value = REGISTRY.get_sample_value(
        "homeserver_background_failures_total", {"name": name}
    )
    return value or 0.0


def test_a_timer_fires_on_the_clock_and_not_before(server: TestServer) -> None:
    api = facade(server)
    fired: list[str] = []
    timer = api.call_later(30, fired.append, "sync")

    async def later(text: str) -> None:
        fired.append(text)

    api.call_later(60, later, "async")
    server.advance(29)
    assert fired == [] and timer.active
    server.advance(1)
    assert fired == ["sync"] and not timer.active
    server.advance(30)
    assert fired == ["sync", "async"]


def test_a_cancelled_timer_never_fires(server: TestServer) -> None:
    api = facade(server)
    fired: list[int] = []
    timer = api.call_later(5, fired.append, 1)
    timer.cancel()
    timer.cancel()  # a no-op
    server.advance(10)
    assert fired == [] and not timer.active


def test_a_loop_runs_every_interval_and_survives_a_failing_run(
    server: TestServer,
) -> None:
    api = facade(server, "looper")
    runs: list[int] = []

    async def tick() -> None:
        runs.append(len(runs))
        if len(runs) == 2:
            raise RuntimeError("second run fails")

    before = _failures("plugin looper: ticker")
    loop = api.looping_call(10, tick, name="ticker")
    server.advance(9)
    assert runs == []
    for _ in range(4):
        server.advance(10)
    assert runs == [0, 1, 2, 3]
    assert _failures("plugin looper: ticker") == before + 1
    loop.cancel()
    server.advance(100)
    assert runs == [0, 1, 2, 3]


def test_a_loop_can_run_at_once(server: TestServer) -> None:
    api = facade(server)
    runs: list[float] = []
    api.looping_call(5, lambda: runs.append(server.reactor.seconds()), now=True)
    server.advance(0)
    server.advance(5)
    assert len(runs) == 2


def test_background_tasks_run_and_failures_are_counted(server: TestServer) -> None:
    api = facade(server, "bg")
    done: list[str] = []

    async def work(text: str) -> None:
        await api.sleep(3)
        done.append(text)

    def boom() -> None:
        raise ValueError("boom")

    before = _failures("plugin bg: exploding")
    api.run_in_background(work, "slept")
    api.run_in_background(boom, name="exploding")
    server.advance(2)
    assert done == []
    server.advance(1)
    assert done == ["slept"]
    assert _failures("plugin bg: exploding") == before + 1
    assert api.time_msec() == int(server.reactor.seconds() * 1000)


def test_shutdown_cancels_timers_loops_and_tasks(server: TestServer) -> None:
    api = facade(server)
    seen: list[str] = []

    async def slow() -> None:
        await api.sleep(100)
        seen.append("task")

    timer = api.call_later(10, seen.append, "timer")
    loop = api.looping_call(10, lambda: seen.append("loop"))
    api.run_in_background(slow)
    run(server, server.hs.shutdown())
    assert not timer.active and not loop.active
    server.advance(200)
    assert seen == []


def test_a_bot_reminder_reaches_sync_and_survives_a_restart(
    make_server: Callable[..., TestServer], tmp_path: Path
) -> None:
    before = make_server(reminder_config(greeting="Ping"))
    alice = before.user("alice")
    room = alice.create_room(preset="public_chat")
    plugin = before.hs.plugins.objects["reminders"]
    run(before, plugin.api.join_room(room))
    run(before, plugin.remind("reminder/soon", room, "tea", 60))
    run(before, plugin.remind("reminder/later", room, "call mum", 3600))
    before.advance(60)
    events = alice.timeline(room)
    assert "Ping: tea" in bodies(events)
    sender = next(
        e["sender"] for e in events if e["content"].get("body") == "Ping: tea"
    )
    assert sender == "@remindbot:test"
    run(before, before.hs.shutdown())

    # The server restarts (same database, a new clock at 0): the pending
    # reminder is re-armed from the store, the one already sent is gone.
    after = TestServer(before.db.engine, reminder_config(greeting="Ping"), tmp_path)
    alice = alice.on(after)
    after.advance(3600)
    assert bodies(alice.timeline(room)).count("Ping: call mum") == 1
    assert bodies(alice.timeline(room)).count("Ping: tea") == 1
    assert run(after, after.hs.plugin_apis["reminders"].kv_list("reminder/")) == []
