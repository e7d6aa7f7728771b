"""A quiet connection with every extension enabled stays as cheap as a quiet
incremental /sync (counted in database transactions, not timed), and does
not grow with its age."""

from __future__ import annotations

from tests.sliding_sync.core.test_cost import _spent, _transactions
from tests.sliding_sync.core.test_sliding_sync import ALL, room_list
from tests.sliding_sync.extensions.kit import ON, Conn, room_config, share_room
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


def test_a_long_lived_connection_keeps_one_entry_per_room(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    rooms = [share_room(alice, bob) for _ in range(3)]
    per_room = {**ON, "lists": []}
    conn = Conn(
        alice,
        {"account_data": per_room, "receipts": per_room, "typing": per_room},
        lists={},
    )
    for i in range(30):
        room_id = rooms[i % 3]
        event_id = alice.send(room_id, f"m{i}")
        bob.post(f"/rooms/{room_id}/receipt/m.read/{event_id}", {}, expect=200)
        path = f"/user/{alice.user_id}/rooms/{room_id}/account_data/org.example"
        alice.put(path, {"i": i}, expect=200)
        # the room in scope changes every time: others fall behind and catch up
        watched = rooms[(i + 1) % 3]
        section = conn.sync(room_subscriptions={watched: room_config()})
        if i >= 2:  # it changed two rounds ago, out of scope
            assert section["account_data"]["rooms"][watched] == [
                {"type": "org.example", "content": {"i": i - 2}}
            ]
            assert set(section["receipts"]["rooms"]) == {watched}
    conn.sync()
    [state] = server.hs.sync.sliding.connections._by_device[
        (alice.user_id, alice.device_id or "")
    ].values()
    for key in ("account_data", "receipts"):
        memory = state.extensions[key]
        assert set(memory["live"]) | set(memory["behind"]) <= set(rooms)
        assert len(memory["live"]) + len(memory["behind"]) <= len(rooms)
    assert len(state.extensions["typing"]["scope"]) <= 1


def test_a_long_poll_deletes_acknowledged_messages_once(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = share_room(alice, bob)
    bob.put(
        "/sendToDevice/m.test/cost1",
        {"messages": {alice.user_id: {alice.device_id: {"n": 0}}}},
        expect=200,
    )
    conn = Conn(alice, {"to_device": ON}, lists={})
    since = conn.sync()["to_device"]["next_batch"]
    conn.body["extensions"] = {"to_device": {**ON, "since": since}}
    before = _transactions()
    pending = conn.start(server, timeout_ms=10_000)
    # messages in alice's room wake the long-poll, which finds nothing for it
    for i in range(3):
        bob.send(room_id, f"wake {i}")
        server.advance(1)
        assert not pending.done
    server.advance(10)
    assert conn.finish(pending)["to_device"]["events"] == []
    assert _spent(before).get("delete_to_device") == 1
    # and a second connection of the device does not delete again
    before = _transactions()
    Conn(alice, {"to_device": {**ON, "since": since}}, conn_id="b").sync()
    assert "delete_to_device" not in _spent(before)
