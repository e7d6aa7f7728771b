"""The e2ee extension: key counts, unused fallback key types, device lists."""

from __future__ import annotations

from tests.e2ee.keys import Device
from tests.sliding_sync.extensions.kit import ON, Conn, share_room
from tests.support.client import User
from tests.support.server import TestServer


def upload_keys(user: User) -> None:
    user.post(
        "/keys/upload", {"device_keys": Device.of(user).device_keys()}, expect=200
    )


def test_key_counts_and_fallback_types(server: TestServer) -> None:
    alice = server.user("alice")
    conn = Conn(alice, {"e2ee": ON})
    first = conn.sync()["e2ee"]
    assert first["device_one_time_keys_count"] == {"signed_curve25519": 0}
    assert first["device_unused_fallback_key_types"] == []
    assert "device_lists" not in first  # only on incremental responses
    device = Device.of(alice)
    alice.post(
        "/keys/upload",
        {
            "device_keys": device.device_keys(),
            "one_time_keys": device.one_time_keys(3),
            "fallback_keys": device.fallback_key(),
        },
        expect=200,
    )
    second = conn.sync()["e2ee"]
    assert second["device_one_time_keys_count"] == {"signed_curve25519": 3}
    assert second["device_unused_fallback_key_types"] == ["signed_curve25519"]
    assert second["device_lists"] == {"changed": [alice.user_id], "left": []}
    # a quiet incremental response still carries the counts
    third = conn.sync()["e2ee"]
    assert third["device_one_time_keys_count"] == {"signed_curve25519": 3}
    assert third["device_lists"] == {"changed": [], "left": []}


def test_device_lists_changed_and_left(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    room_id = share_room(alice, bob)
    conn = Conn(alice, {"e2ee": ON})
    conn.sync()
    upload_keys(bob)
    upload_keys(carol)  # shares no room with alice: not her business
    lists = conn.sync()["e2ee"]["device_lists"]
    assert lists == {"changed": [bob.user_id], "left": []}
    # carol joins: she newly shares a room, so alice must look at her devices
    carol.join(room_id)
    assert conn.sync()["e2ee"]["device_lists"] == {
        "changed": [carol.user_id],
        "left": [],
    }
    bob.leave(room_id)
    assert conn.sync()["e2ee"]["device_lists"] == {
        "changed": [],
        "left": [bob.user_id],
    }


def test_long_poll_wakes_on_a_device_list_change(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    share_room(alice, bob)
    conn = Conn(alice, {"e2ee": ON})
    conn.sync()
    pending = conn.start(server)
    server.advance(1)
    assert not pending.done
    upload_keys(bob)
    assert pending.done
    assert conn.finish(pending)["e2ee"]["device_lists"]["changed"] == [bob.user_id]


def test_key_counts_alone_do_not_end_a_long_poll(server: TestServer) -> None:
    alice = server.user("alice")
    conn = Conn(alice, {"e2ee": ON})
    conn.sync()
    pending = conn.start(server, timeout_ms=5000)
    server.advance(1)
    assert not pending.done
    server.advance(5)
    section = conn.finish(pending)["e2ee"]
    assert section["device_one_time_keys_count"] == {"signed_curve25519": 0}
    assert section["device_lists"] == {"changed": [], "left": []}
