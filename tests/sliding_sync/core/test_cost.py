"""A quiet incremental sliding-sync request costs no more database work than
a quiet incremental /sync (counted in database transactions, not timed)."""

from __future__ import annotations

from homeserver.storage.database import TXN_SECONDS
from tests.sliding_sync.core.test_sliding_sync import ALL, room_list, ss
from tests.support.server import TestServer


def _transactions() -> dict[str, float]:
    out: dict[str, float] = {}
    for metric in TXN_SECONDS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                out[sample.labels["name"]] = sample.value
    return out


def _spent(before: dict[str, float]) -> dict[str, float]:
    after = _transactions()
    return {k: v - before.get(k, 0) for k, v in after.items() if v > before.get(k, 0)}


def test_quiet_incremental_costs_no_more_than_sync(server: TestServer) -> None:
    alice = server.user("alice")
    room_list(server, alice, [f"room {i}" for i in range(30)])
    body = {"lists": {"all": {**ALL, "range": [0, 19]}}}
    pos = ss(alice, body)["pos"]
    pos = ss(alice, {**body, "pos": pos})["pos"]
    since = alice.sync()["next_batch"]
    since = alice.sync(since)["next_batch"]

    before = _transactions()
    quiet = ss(alice, {**body, "pos": pos})
    sliding = _spent(before)
    assert quiet["rooms"] == {}

    before = _transactions()
    alice.sync(since)
    sync = _spent(before)
    print(f"quiet sliding sync transactions: {sliding}; quiet /sync: {sync}")
    assert sum(sliding.values()) <= sum(sync.values())
    # nothing that reads rooms: no bump stamps, no memberships, no timelines
    assert not {k for k in sliding if k.startswith("ss_")}
