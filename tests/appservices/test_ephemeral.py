"""Ephemeral data pushed to application services that ask for it (MSC2409,
stable in v1.13: typing, receipts, presence, to-device) and the MSC3202
fields encrypting bridges need (device lists, one-time-key counts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.appservices.kit import AsHarness
from tests.e2ee.keys import Device
from tests.support.server import TestServer


def _bridged(harness: AsHarness) -> tuple[Any, Any, str]:
    alice = harness.server.user("alice")
    irc = harness.server.user("irc_fred")
    room = alice.create_room()
    alice.invite(room, irc.user_id)
    irc.join(room)
    harness.settle()
    return alice, irc, room


def _ephemeral(harness: AsHarness, kind: str) -> list[dict[str, Any]]:
    found = []
    for txn in harness.fake.acknowledged():
        stable = txn.body.get("ephemeral", [])
        assert txn.body.get("de.sorunome.msc2409.ephemeral", []) == stable
        found += [e for e in stable if e["type"] == kind]
    return found


def _to_device(harness: AsHarness) -> list[dict[str, Any]]:
    found = []
    for txn in harness.fake.acknowledged():
        stable = txn.body.get("to_device", [])
        assert txn.body.get("de.sorunome.msc2409.to_device", []) == stable
        found += stable
    return found


def test_typing_receipts_presence_and_to_device(
    make_server: Callable[..., TestServer],
) -> None:
    h = AsHarness(make_server, users=(r"@irc_.*:test",), receive_ephemeral=True)
    alice, irc, room = _bridged(h)
    alice.put(
        f"/rooms/{room}/typing/{alice.user_id}", {"typing": True, "timeout": 30000}
    )
    h.pump(lambda: bool(_ephemeral(h, "m.typing")))
    typing = _ephemeral(h, "m.typing")[-1]
    assert typing == {
        "type": "m.typing",
        "room_id": room,
        "content": {"user_ids": [alice.user_id]},
    }

    event_id = alice.send(room, "read me")
    irc.post(f"/rooms/{room}/receipt/m.read/{event_id}", {}, expect=200)
    irc.post(f"/rooms/{room}/receipt/m.read.private/{event_id}", {}, expect=200)
    h.pump(lambda: bool(_ephemeral(h, "m.receipt")))
    h.settle()
    receipts = _ephemeral(h, "m.receipt")
    assert len(receipts) == 1  # the private one is not sent
    assert receipts[0]["room_id"] == room
    assert irc.user_id in receipts[0]["content"][event_id]["m.read"]

    alice.put(f"/presence/{alice.user_id}/status", {"presence": "online"}, expect=200)
    h.pump(
        lambda: any(e["sender"] == alice.user_id for e in _ephemeral(h, "m.presence"))
    )

    alice.put(
        "/sendToDevice/m.test/txn1",
        {"messages": {irc.user_id: {irc.device_id: {"hello": "bridge"}}}},
        expect=200,
    )
    h.pump(lambda: bool(_to_device(h)))
    assert _to_device(h) == [
        {
            "type": "m.test",
            "sender": alice.user_id,
            "content": {"hello": "bridge"},
            "to_user_id": irc.user_id,
            "to_device_id": irc.device_id,
        }
    ]
    h.close()


def test_no_ephemeral_data_unless_asked_for_or_of_interest(
    make_server: Callable[..., TestServer],
) -> None:
    h = AsHarness(make_server, users=(r"@irc_.*:test",))
    alice, irc, room = _bridged(h)
    other = alice.create_room()
    alice.put(f"/rooms/{room}/typing/{alice.user_id}", {"typing": True}, expect=200)
    alice.put(f"/rooms/{other}/typing/{alice.user_id}", {"typing": True}, expect=200)
    alice.send(room, "marker")
    h.pump(
        lambda: any(
            e.get("content", {}).get("body") == "marker" for e in h.fake.events()
        )
    )
    h.settle()
    assert all("ephemeral" not in t.body for t in h.fake.transactions())
    h.close()

    h = AsHarness(make_server, users=(r"@irc_.*:test",), receive_ephemeral=True)
    alice = h.server.user("alice")
    lonely = alice.create_room()
    alice.put(f"/rooms/{lonely}/typing/{alice.user_id}", {"typing": True}, expect=200)
    h.settle()
    assert _ephemeral(h, "m.typing") == []
    h.close()


def test_msc3202_device_lists_and_key_counts(
    make_server: Callable[..., TestServer],
) -> None:
    h = AsHarness(
        make_server, users=(r"@irc_.*:test",), receive_ephemeral=True, msc3202=True
    )
    alice, irc, room = _bridged(h)
    device = Device.of(irc)
    before = len(h.fake.acknowledged())
    irc.post(
        "/keys/upload",
        {
            "device_keys": device.device_keys(),
            "one_time_keys": device.one_time_keys(3),
            "fallback_keys": device.fallback_key(),
        },
        expect=200,
    )
    second = h.server.login("irc_fred")  # a new device: the list changed
    alice.put(
        "/sendToDevice/m.test/txn2",
        {"messages": {irc.user_id: {irc.device_id: {"n": 1}}}},
        expect=200,
    )

    def counted() -> dict[str, Any] | None:
        for txn in reversed(h.fake.acknowledged()[before:]):
            counts = txn.body.get("org.matrix.msc3202.device_one_time_keys_count")
            if counts and irc.user_id in counts:
                return txn.body
        return None

    h.pump(lambda: counted() is not None)
    body = counted()
    assert body is not None
    counts = body["org.matrix.msc3202.device_one_time_keys_count"][irc.user_id]
    assert counts[irc.device_id]["signed_curve25519"] == 3
    fallback = body["org.matrix.msc3202.device_unused_fallback_key_types"]
    assert fallback[irc.user_id][irc.device_id] == ["signed_curve25519"]
    h.pump(
        lambda: any(
            irc.user_id
            in t.body.get("org.matrix.msc3202.device_lists", {}).get("changed", [])
            for t in h.fake.acknowledged()
        )
    )
    assert second.device_id != irc.device_id
    h.close()


def _device_lists(h: AsHarness, key: str) -> list[str]:
    return [
        user
        for t in h.fake.acknowledged()
        for user in t.body.get("org.matrix.msc3202.device_lists", {}).get(key, [])
    ]


def test_msc3202_left_and_remote_changes(
    make_server: Callable[..., TestServer],
) -> None:
    h = AsHarness(make_server, users=(r"@irc_.*:test",), msc3202=True)
    alice, irc, room = _bridged(h)
    bob = h.server.user("bob")
    alice.invite(room, bob.user_id)
    bob.join(room)
    other = alice.create_room()  # alice shares no other room with irc
    bob.leave(room)
    h.pump(lambda: bob.user_id in _device_lists(h, "left"))
    assert alice.user_id not in _device_lists(h, "left")
    alice.leave(other)
    h.settle()
    assert alice.user_id not in _device_lists(h, "left")  # still shares `room`

    # Another server's user's device list change, as the federation EDU
    # handler records it (tests/federation covers that handler itself).
    lists = h.server.hs.devices.lists
    h.server.get_success(
        lists.remote_changed("@zed:elsewhere", ["ZDEV"], {irc.user_id})
    )
    h.pump(lambda: "@zed:elsewhere" in _device_lists(h, "changed"))
    h.close()
