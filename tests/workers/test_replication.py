"""Replication between two processes of one deployment (main and a client
reader), in one test process: real PostgreSQL, real Redis, real reader
threads (tests/workers/replication_kit.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis
from prometheus_client import generate_latest

from tests.support.private_redis import PrivateRedis
from tests.support.redis_keys import require_redis, unique_prefix
from tests.workers.replication_kit import (  # noqa: F401 - fixtures
    READER,
    Deployment,
    deployment,
    kill_connections,
    redis_prefix,
)

SYNC = "/_matrix/client/v3/sync"


def _timeline(body: dict, room_id: str) -> list[str]:
    room = body["rooms"]["join"].get(room_id, {})
    return [
        e["content"].get("body") for e in room.get("timeline", {}).get("events", [])
    ]


def test_a_reader_wakes_and_serves_what_main_writes(deployment: Deployment) -> None:  # noqa: F811
    main, reader = deployment.main, deployment.reader
    alice = main.user("alice")
    room_id = alice.create_room()
    deployment.settle(deployment.caught_up())
    since = alice.on(reader).sync()["next_batch"]
    waiting = reader.start_request(
        "GET", f"{SYNC}?since={since}&timeout=60000", alice.token
    )
    assert not waiting.done
    alice.send(room_id, "hello from main")
    deployment.settle(lambda: waiting.done)
    body = waiting.response().json
    assert _timeline(body, room_id) == ["hello from main"]
    # The reader's change caches were fed: an incremental sync from the old
    # token finds the room, and one from the new token finds nothing.
    assert _timeline(alice.on(reader).sync(since), room_id) == ["hello from main"]
    assert room_id not in alice.on(reader).sync(body["next_batch"])["rooms"]["join"]
    # Typing: main writes the stream; the reader holds the typists it
    # publishes and serves them.
    since = body["next_batch"]
    alice.put(
        f"/rooms/{room_id}/typing/{alice.user_id}",
        {"typing": True, "timeout": 30000},
        expect=200,
    )
    deployment.settle(deployment.caught_up("typing"))
    typing = alice.on(reader).sync(since)["rooms"]["join"][room_id]["ephemeral"]
    assert typing["events"][0]["content"]["user_ids"] == [alice.user_id]
    status = reader.hs.workers.replication.status()
    assert status["name"] == READER and status["redis"] == "connected"
    position = main.hs.core.notifier.current_token().events
    assert status["positions"]["events"] == position
    assert status["writers"]["events"] == {"main": position}
    assert status["lag"]["events"]["entries"] == 0
    metrics = generate_latest().decode()
    assert 'homeserver_replication_lag_seconds{stream="events"}' in metrics
    assert (
        f'homeserver_replication_position{{stream="events",writer="main"}} {position}.0'
        in metrics
    )


def test_caches_follow_writes_made_by_another_process(deployment: Deployment) -> None:  # noqa: F811
    main, reader = deployment.main, deployment.reader
    alice = main.user("alice")
    room_id = alice.create_room()
    event_id = alice.send(room_id, "secret")
    deployment.settle(deployment.caught_up())
    # The reader caches the event and the access token ...
    path = f"/rooms/{room_id}/event/{event_id}"
    assert alice.on(reader).get(path, expect=200).json["content"]["body"] == "secret"
    alice.put(f"/rooms/{room_id}/redact/{event_id}/r1", {}, expect=200)
    deployment.settle(deployment.caught_up())
    # ... and forgets both when main redacts and logs out.
    assert alice.on(reader).get(path, expect=200).json["content"] == {}
    alice.post("/logout", {}, expect=200)
    deployment.settle(lambda: alice.on(reader).get("/account/whoami").code == 401)


def test_sync_key_counts_follow_key_writes_made_by_another_process(
    deployment: Deployment,  # noqa: F811
) -> None:
    """The reader remembers each device's key counts between syncs; an upload
    or a claim on main makes it forget them (the tables' writes are published
    on the caches stream)."""
    main, reader = deployment.main, deployment.reader
    alice, bob = main.user("alice"), main.user("bob")

    def reader_count() -> int:
        counts = alice.on(reader).sync()["device_one_time_keys_count"]
        return int(counts["signed_curve25519"])

    assert reader_count() == 0
    keys = {f"signed_curve25519:K{i}": {"key": f"k{i}"} for i in range(3)}
    alice.post("/keys/upload", {"one_time_keys": keys}, expect=200)
    deployment.settle(lambda: reader_count() == 3)
    claim = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}
    bob.post("/keys/claim", claim, expect=200)
    deployment.settle(lambda: reader_count() == 2)


def test_nothing_is_missed_across_a_lost_connection_or_a_trimmed_stream(
    deployment: Deployment,  # noqa: F811
    redis_prefix: tuple[redis.Redis, str],  # noqa: F811
) -> None:
    client, prefix = redis_prefix
    main, reader = deployment.main, deployment.reader
    alice = main.user("alice")
    room_id = alice.create_room()
    deployment.settle(deployment.caught_up())
    since = alice.on(reader).sync()["next_batch"]
    # The reader's connection is killed: it reconnects and reads on.
    assert kill_connections(client, f"{prefix}:{READER}:reader") == 1
    alice.send(room_id, "one")
    deployment.settle(deployment.caught_up())
    # The reader is away while main writes and the stream is trimmed
    # past it: on return it resynchronises, and misses nothing.
    bus = reader.hs.workers.replication.bus
    assert bus is not None
    bus.stop()
    alice.send(room_id, "two")
    alice.send(room_id, "three")
    client.xtrim(f"{prefix}:rs:events", maxlen=0)
    bus.start()
    deployment.settle(
        lambda: deployment.caught_up()() and not reader.hs.workers.replication._gapped
    )
    assert _timeline(alice.on(reader).sync(since), room_id) == ["one", "two", "three"]


def test_nothing_is_missed_across_a_redis_restart(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Redis is killed (nothing saved) while main writes, and comes back
    empty: main republishes what failed, the reader resynchronises."""
    require_redis()
    redis_server = PrivateRedis(tmp_path / "redis")
    try:
        redis_server.start()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    pair = Deployment(request, tmp_path, unique_prefix(), redis_server.url)
    try:
        main, reader = pair.main, pair.reader
        alice = main.user("alice")
        room_id = alice.create_room()
        pair.settle(pair.caught_up())
        since = alice.on(reader).sync()["next_batch"]
        redis_server.stop()
        alice.send(room_id, "while Redis is down")
        redis_server.start()
        replication = reader.hs.workers.replication
        pair.settle(
            lambda: (
                pair.caught_up()() and replication.connected and not replication._gapped
            ),
            timeout=30,
        )
        texts = _timeline(alice.on(reader).sync(since), room_id)
        assert texts == ["while Redis is down"]
    finally:
        pair.close()
        redis_server.stop()


def test_a_reader_follows_a_restarted_typing_writer(
    deployment: Deployment,  # noqa: F811
) -> None:
    """Typing is kept in memory: a restarted writer counts from 0 again, and
    the reader follows it down instead of hiding its new changes."""
    alice = deployment.main.user("alice")
    room_id = alice.create_room()
    path = f"/rooms/{room_id}/typing/{alice.user_id}"
    for _ in range(3):
        alice.put(path, {"typing": True, "timeout": 30000}, expect=200)
        alice.put(path, {"typing": False}, expect=200)
    deployment.settle(deployment.caught_up("typing"))
    deployment.stop(deployment.main)
    main = deployment.main = deployment.start("main")
    alice.on(main).put(path, {"typing": True, "timeout": 30000}, expect=200)
    deployment.settle(deployment.caught_up("typing"))
    since = alice.on(deployment.reader).sync()["next_batch"]
    alice.on(main).put(path, {"typing": False}, expect=200)
    deployment.settle(deployment.caught_up("typing"))
    room = alice.on(deployment.reader).sync(since)["rooms"]["join"][room_id]
    assert room["ephemeral"]["events"][0]["content"]["user_ids"] == []


def test_a_position_republished_without_its_rows_is_not_trusted(
    deployment: Deployment,  # noqa: F811
    redis_prefix: tuple[redis.Redis, str],  # noqa: F811
) -> None:
    """A writer that committed an event and died before publishing its row
    republishes its position on start, with no rows: the reader must not
    serve a token past that event as if nothing happened in the room."""
    client, prefix = redis_prefix
    main, reader = deployment.main, deployment.reader
    alice = main.user("alice")
    room_id = alice.create_room()
    deployment.settle(deployment.caught_up())
    since = alice.on(reader).sync()["next_batch"]
    bus = reader.hs.workers.replication.bus
    assert bus is not None
    bus.stop()
    key = f"{prefix}:rs:events"
    newest = client.xrevrange(key, count=1)[0][0]
    alice.send(room_id, "row lost")

    def published_after(entry_id: str) -> list[str]:
        return [e for e, _ in client.xrange(key, min="(" + entry_id)]

    deployment.settle(lambda: bool(published_after(newest)))
    lost = published_after(newest)
    client.xdel(key, *lost)  # the row never reached Redis
    # What a restarted writer does: its first entry, a bare position.
    main.hs.workers.replication._started.clear()
    main.hs.workers.replication._republish([])
    deployment.settle(lambda: bool(published_after(lost[-1])))
    bus.start()
    deployment.settle(deployment.caught_up())
    assert _timeline(alice.on(reader).sync(since), room_id) == ["row lost"]
