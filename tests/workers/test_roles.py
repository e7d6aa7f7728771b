"""WorkerTopology: who writes each stream, who runs each duty, where."""

from __future__ import annotations

import pytest

from homeserver.config import parse_config
from homeserver.workers.roles import (
    MAIN,
    Duty,
    Role,
    UnknownWorker,
    WorkerTopology,
    stable_shard,
)

CONFIG = parse_config(
    {
        "server": {"server_name": "example.com"},
        "listeners": [{"port": 8008}],
        "workers": {
            "redis_url": "redis://127.0.0.1:6379/0",
            "instances": [
                {"name": "reader1", "role": "client_reader", "port": 8101},
                {"name": "persister1", "role": "event_persister", "port": 8102},
                {"name": "persister2", "role": "event_persister", "port": 8103},
                {"name": "sender1", "role": "federation_sender", "port": 8104},
                {"name": "sender2", "role": "federation_sender", "port": 8105},
                {"name": "pusher1", "role": "pusher", "port": 8106},
            ],
            "stream_writers": {"typing": "reader1"},
        },
    }
)


def test_one_process_is_main_and_does_everything() -> None:
    topology = WorkerTopology.from_config(
        parse_config({"server": {"server_name": "example.com"}})
    )
    assert not topology.enabled and topology.is_main
    assert topology.this.role == Role.MAIN
    assert all(topology.runs(duty) for duty in Duty)
    assert topology.event_writer_for("!a:example.com") == MAIN
    assert topology.writes("events") and topology.writes("receipts")
    assert topology.federation_sender_for("other.org") == MAIN
    assert topology.internal_url(MAIN) == "http://127.0.0.1:8008"


def test_streams_have_one_writer_and_events_are_sharded_by_room() -> None:
    reader = WorkerTopology.from_config(CONFIG, "reader1")
    assert reader.writer_of("typing") == "reader1" and reader.writes("typing")
    assert reader.writer_of("receipts") == MAIN and not reader.writes("receipts")
    with pytest.raises(ValueError, match="event_writer_for"):
        reader.writer_of("events")
    rooms = [f"!room{i}:example.com" for i in range(200)]
    owners = {reader.event_writer_for(room) for room in rooms}
    assert owners == {"persister1", "persister2"}
    # The same answer in every process (a stable hash, not the salted hash()).
    persister = WorkerTopology.from_config(CONFIG, "persister2")
    assert all(
        persister.event_writer_for(r) == reader.event_writer_for(r) for r in rooms
    )
    assert persister.writes("events") and not reader.writes("events")
    assert stable_shard("!room0:example.com", 2) == stable_shard(
        "!room0:example.com", 2
    )


def test_duties_move_to_their_roles() -> None:
    main = WorkerTopology.from_config(CONFIG)
    sender = WorkerTopology.from_config(CONFIG, "sender1")
    pusher = WorkerTopology.from_config(CONFIG, "pusher1")
    assert not main.runs(Duty.FEDERATION_SENDING) and sender.runs(
        Duty.FEDERATION_SENDING
    )
    assert pusher.runs(Duty.PUSHING) and not main.runs(Duty.PUSHING)
    # No background, media or appservice instance: main keeps those duties.
    assert main.runs(Duty.BACKGROUND_TASKS) and not sender.runs(Duty.BACKGROUND_TASKS)
    destinations = {main.federation_sender_for(f"s{i}.org") for i in range(100)}
    assert destinations == {"sender1", "sender2"}
    assert main.internal_url("pusher1") == "http://127.0.0.1:8106"
    [listener] = pusher.worker_listeners()
    assert listener.port == 8106 and "replication" in listener.resources


def test_unknown_worker_is_refused() -> None:
    with pytest.raises(UnknownWorker, match="no worker called 'reader9'"):
        WorkerTopology.from_config(CONFIG, "reader9")
