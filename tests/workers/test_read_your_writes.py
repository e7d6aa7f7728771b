"""Read your writes through a client reader, with replication over Redis
(tests/workers/duties_kit.py with a key prefix; one PostgreSQL database): a
write the reader hands to the stream's writer returns only once the reader
has applied its position, so a GET right after it, on the reader, sees it
(without the wait it would answer from the reader's stale cache)."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from homeserver.storage.engines import Engine
from tests.support.redis_keys import delete_prefixed, require_redis, unique_prefix
from tests.workers.duties_kit import Deployment
from tests.workers.replication_kit import require_postgres

ENGINES = ("postgres",)
READER = [{"name": "reader1", "role": "client_reader", "port": 18221}]
CLIENT = "/_matrix/client/v3"


@pytest.fixture
def deployment(
    make_engine: Callable[[], Engine], tmp_path: Path
) -> Iterator[Deployment]:
    require_postgres()
    client = require_redis()
    prefix = unique_prefix()
    made = Deployment(make_engine(), tmp_path, READER, redis_prefix=prefix)
    yield made
    made.close()
    delete_prefixed(client, prefix)
    client.close()


def _on_reader(
    d: Deployment, method: str, path: str, token: str, body: Any = None
) -> Any:
    """A write on the reader, run until answered. What replication hands
    over is applied only while the answer is still awaited: a reader that
    answered as soon as the writer did would not have applied its write."""
    pending = d["reader1"].start_json_request(method, f"{CLIENT}{path}", body, token)
    assert d.hand_offs is not None
    deadline = time.monotonic() + 30
    while True:
        d.advance()
        if pending.done:
            break
        assert time.monotonic() < deadline, "the write was never answered"
        try:
            fn, args = d.hand_offs.queue.get(timeout=0.005)
        except queue.Empty:
            continue
        fn(*args)
    answer = pending.response()
    assert answer.code == 200, answer.json
    return answer.json


def _now_on_reader(d: Deployment, path: str, token: str) -> Any:
    """A GET answered by the reader alone: nothing replicated is applied."""
    answer = d["reader1"].request("GET", f"{CLIENT}{path}", token=token)
    assert answer.code == 200, answer.json
    return answer.json


def test_account_data_push_rules_and_tags_are_read_back_at_once(
    deployment: Deployment,
) -> None:
    d = deployment
    user_id, token = d.main.register("alice")
    data = f"/user/{user_id}/account_data/org.example.a"
    tags = f"/user/{user_id}/rooms/!r:test/tags"
    rule = "/pushrules/global/content/cats"
    for n in range(3):
        _on_reader(d, "PUT", data, token, {"n": n})
        _on_reader(d, "PUT", f"{tags}/u.t{n}", token, {})
        actions = ["notify"] if n % 2 else ["dont_notify"]
        _on_reader(d, "PUT", rule, token, {"pattern": "cat*", "actions": actions})
        # The reader's caches hold what it read before; each read comes
        # right after the write, with nothing replicated applied meanwhile.
        assert _now_on_reader(d, data, token) == {"n": n}
        assert set(_now_on_reader(d, tags, token)["tags"]) == {
            f"u.t{i}" for i in range(n + 1)
        }
        assert _now_on_reader(d, rule, token)["actions"] == actions


SLIDING = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
ALL = {"range": [0, 99], "timeline_limit": 1, "required_state": []}


def test_a_room_forgotten_on_main_leaves_the_readers_lists(
    deployment: Deployment,
) -> None:
    """/forget runs on main; the reader's sliding-sync room list, which
    remembers alice's rooms until her membership moves, hears of it over the
    caches stream and lists the room no more (no membership moved)."""
    d = deployment
    alice, token = d.main.register("alice")
    bob, bob_token = d.main.register("bob")
    room_id = d.main.request(
        "POST", f"{CLIENT}/createRoom", {"preset": "public_chat"}, token=bob_token
    ).json["room_id"]
    assert (
        d.main.request("POST", f"{CLIENT}/join/{room_id}", {}, token=token).code == 200
    )
    kick = {"user_id": alice}
    kicked = d.main.request("POST", f"{CLIENT}/rooms/{room_id}/kick", kick, bob_token)
    assert kicked.code == 200
    body = {"lists": {"all": ALL}}

    def listed() -> int:
        answer = d["reader1"].request("POST", SLIDING, body, token=token)
        assert answer.code == 200, answer.json
        return int(answer.json["lists"]["all"]["count"])

    def position(name: str) -> int:
        return d[name].hs.core.streams.ids_by_name("events").current_position()

    # The reader has applied the kick, then remembers alice's rooms.
    d.pump(lambda: position("reader1") >= position("main"))
    assert listed() == 1
    forgot = d.main.request("POST", f"{CLIENT}/rooms/{room_id}/forget", {}, token)
    assert forgot.code == 200
    d.pump(lambda: listed() == 0)
