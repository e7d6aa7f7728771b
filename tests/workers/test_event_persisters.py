"""Two event persisters sharded by room (docs/architecture.md, "Stream
writes across processes"): stream orderings come from a PostgreSQL
sequence, each persister publishes how far it has persisted over Redis, and
a client reader's /sync, which messages were sent through, sees every
message of both shards once and in order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from homeserver.storage.engines import PostgresEngine
from homeserver.storage.sequence_ids import MultiWriterStreamIds
from homeserver.streams.registry import EVENTS
from tests.conftest import postgres_databases
from tests.support.redis_keys import redis_prefix  # noqa: F401 - fixture
from tests.workers.replication_kit import require_postgres
from tests.workers.writes_kit import HttpDeployment

INSTANCES = [
    {"name": "persister1", "role": "event_persister", "port": 18211},
    {"name": "persister2", "role": "event_persister", "port": 18212},
    {"name": "reader1", "role": "client_reader", "port": 18213},
]
CLIENT = "/_matrix/client/v3"
PER_ROOM = 5


@pytest.fixture
def deployment(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    redis_prefix: tuple[redis.Redis, str],  # noqa: F811
) -> Iterator[HttpDeployment]:
    require_postgres()
    databases = postgres_databases(request.config)
    name = databases.create()
    made = HttpDeployment(
        PostgresEngine(databases.dsn(name)),
        tmp_path,
        INSTANCES,
        redis_prefix=redis_prefix[1],
    )
    yield made
    made.close()
    databases.drop(name)


def _rooms_of_both(d: HttpDeployment, token: str) -> dict[str, str]:
    """A room written by each persister, created through the reader."""
    topology = d.main.hs.core.topology
    found: dict[str, str] = {}
    for _ in range(12):
        created = d.call("reader1", "POST", f"{CLIENT}/createRoom", {}, token)
        assert created.code == 200, created.json
        room_id = created.json["room_id"]
        found.setdefault(topology.event_writer_for(room_id), room_id)
        if len(found) == 2:
            return found
    raise AssertionError("every room hashed to one persister")


def _orderings(d: HttpDeployment, event_ids: list[str]) -> dict[str, int]:
    async def read() -> dict[str, int]:
        rows = await d.main.db.run_interaction(
            "orderings",
            lambda txn: txn.query_in(
                "SELECT event_id, stream_ordering FROM events WHERE event_id IN (?*)",
                event_ids,
            ),
        )
        return {r.event_id: int(r.stream_ordering) for r in rows}

    result: dict[str, int] = d.main.get_success(read())
    return result


def test_two_persisters_give_a_reader_one_gap_free_ordered_stream(
    deployment: HttpDeployment,
) -> None:
    d = deployment
    for name in ("persister1", "persister2", "reader1"):
        ids = d[name].hs.core.streams.ids(EVENTS)
        assert isinstance(ids, MultiWriterStreamIds), name
    _, token = d.main.register("alice")
    rooms = _rooms_of_both(d, token)
    reader_events = d["reader1"].hs.core.streams.ids(EVENTS)
    # The rooms' creation reaches the reader before its token is taken, so
    # that the messages below are all the incremental sync holds.
    created = max(
        d[name].hs.core.streams.ids(EVENTS).own_position()
        for name in ("persister1", "persister2")
    )
    d.pump(lambda: reader_events.current_position() >= created)
    since = d.call("reader1", "GET", f"{CLIENT}/sync", token=token)
    assert since.code == 200
    sent: dict[str, list[str]] = {room: [] for room in rooms.values()}
    for i in range(PER_ROOM):
        for room_id in rooms.values():
            answer = d.call(
                "reader1",
                "PUT",
                f"{CLIENT}/rooms/{room_id}/send/m.room.message/t{i}",
                {"msgtype": "m.text", "body": f"{room_id} {i}"},
                token,
            )
            assert answer.code == 200, answer.json
            sent[room_id].append(answer.json["event_id"])
    all_ids = [e for ids in sent.values() for e in ids]
    orderings = _orderings(d, all_ids)
    assert len(set(orderings.values())) == len(all_ids)
    # The persisters' positions reach the reader over Redis.
    top = max(orderings.values())
    d.pump(lambda: reader_events.current_position() >= top)
    path = f"{CLIENT}/sync?since={since.json['next_batch']}&filter="
    path += '{"room":{"timeline":{"limit":50}}}'
    synced: Any = d.call("reader1", "GET", path, token=token).json
    for room_id, ids in sent.items():
        timeline = synced["rooms"]["join"][room_id]["timeline"]
        got = [e["event_id"] for e in timeline["events"]]
        assert got == ids, room_id
        assert timeline["limited"] is False
    # Each shard's orderings rise in its own send order.
    for ids in sent.values():
        assert [orderings[e] for e in ids] == sorted(orderings[e] for e in ids)
