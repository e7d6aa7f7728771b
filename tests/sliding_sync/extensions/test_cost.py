"""A quiet connection with every extension enabled stays as cheap as a quiet
incremental /sync (counted in database transactions, not timed), and does
not grow with its age."""

from __future__ import annotations

from tests.sliding_sync.core.test_cost import _spent, _transactions
from tests.sliding_sync.core.test_sliding_sync import ALL, room_list
from tests.sliding_sync.extensions.kit import ON, Conn
from tests.support.server import TestServer


def test_quiet_connection_with_every_extension(server: TestServer) -> None:
    alice = server.user("alice")
    room_list(server, alice, [f"room {i}" for i in range(30)])
    extensions = {
        k: ON for k in ("to_device", "e2ee", "account_data", "receipts", "typing")
    }
    conn = Conn(alice, extensions, lists={"all": {**ALL, "range": [0, 19]}})
    first = conn.sync()
    since = first["to_device"]["next_batch"]
    conn.body["extensions"] = {
        **extensions,
        "to_device": {**ON, "since": since},
    }
    conn.sync()
    conn.sync()
    sync_since = alice.sync()["next_batch"]
    sync_since = alice.sync(sync_since)["next_batch"]

    before = _transactions()
    quiet = conn.sync()
    sliding = _spent(before)
    assert conn.last["rooms"] == {}
    assert quiet["receipts"] == {"rooms": {}}

    before = _transactions()
    alice.sync(sync_since)
    sync = _spent(before)
    print(f"quiet sliding sync with extensions: {sliding}; quiet /sync: {sync}")
    assert sum(sliding.values()) <= sum(sync.values())
    # no to-device delete or read, no receipts or account data read
    assert not {k for k in sliding if "to_device" in k or "receipt" in k}
    assert not {k for k in sliding if "account_data" in k}
