"""Dehydrated devices (MSC3814, unstable prefix org.matrix.msc3814.v1)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2ee.keys import Device, new_key, public
from tests.support import User, q
from tests.support.server import TestServer

PREFIX = "/_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device"


def dehydrated_body(user: User, device_id: str) -> dict[str, Any]:
    device = Device(user.user_id, device_id, new_key(device_id))
    keys = device.device_keys()
    keys["dehydrated"] = True
    return {
        "device_id": device_id,
        "device_data": {"algorithm": "org.matrix.msc3814.v2", "device_pickle": "x"},
        "initial_device_display_name": "Dehydrated device",
        "device_keys": device.sign(
            {k: v for k, v in keys.items() if k != "signatures"}
        ),
        "fallback_keys": device.fallback_key(),
        "one_time_keys": device.one_time_keys(2),
    }


def test_put_get_events_delete(server: TestServer, alice: User) -> None:
    device_id = public(new_key("d"))
    assert alice.get(PREFIX, expect=404).json["errcode"] == "M_NOT_FOUND"
    body = dehydrated_body(alice, device_id)
    assert alice.put(PREFIX, body, expect=200).json == {"device_id": device_id}
    got = alice.get(PREFIX, expect=200).json
    assert got == {"device_id": device_id, "device_data": body["device_data"]}
    # Its keys are published like any device's, marked dehydrated.
    bob = server.user("bob")
    query = {"device_keys": {alice.user_id: []}}
    keys = bob.post("/keys/query", query, expect=200).json["device_keys"][alice.user_id]
    assert keys[device_id]["dehydrated"] is True
    # Messages sent to it wait for the rehydrating client, in batches.
    for i in range(3):
        bob.put(
            f"/sendToDevice/m.room.encrypted/t{i}",
            {"messages": {alice.user_id: {device_id: {"n": i}}}},
            expect=200,
        )
    events = f"{PREFIX}/{q(device_id)}/events"
    first = alice.post(events, {}, expect=200).json
    assert [e["content"]["n"] for e in first["events"]] == [0, 1, 2]
    assert first["events"][0]["sender"] == bob.user_id
    done = alice.post(events, {"next_batch": first["next_batch"]}, expect=200).json
    assert done == {"events": []}
    # Nothing was deleted: a rehydration can start over (GET, as the MSC has it).
    again = alice.get(events, expect=200).json
    assert len(again["events"]) == 3
    # Another device's ID is not the dehydrated one.
    err = alice.post(f"{PREFIX}/{alice.device_id}/events", {}, expect=403).json
    assert err["errcode"] == "M_FORBIDDEN"
    assert alice.delete(PREFIX, expect=200).json == {"device_id": device_id}
    assert alice.get(PREFIX, expect=404).json["errcode"] == "M_NOT_FOUND"
    keys = bob.post("/keys/query", query, expect=200).json["device_keys"][alice.user_id]
    assert device_id not in keys
    ids = [d["device_id"] for d in alice.get("/devices", expect=200).json["devices"]]
    assert device_id not in ids


def test_a_new_dehydrated_device_replaces_the_old(alice: User) -> None:
    first, second = public(new_key("a")), public(new_key("b"))
    alice.put(PREFIX, dehydrated_body(alice, first), expect=200)
    alice.put(PREFIX, dehydrated_body(alice, second), expect=200)
    assert alice.get(PREFIX, expect=200).json["device_id"] == second
    ids = {d["device_id"] for d in alice.get("/devices", expect=200).json["devices"]}
    assert first not in ids and second in ids


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b.pop("device_keys"),
        lambda b: b.update(device_data={"no": "algorithm"}),
        lambda b: b["device_keys"].update(device_id="OTHER"),
        lambda b: b.update(one_time_keys={"bad": "key"}),
        lambda b: b.pop("device_id"),
    ],
    ids=["no-keys", "no-algorithm", "wrong-device", "bad-otk", "no-id"],
)
def test_bad_uploads_change_nothing(alice: User, mangle: Any) -> None:
    old = public(new_key("o"))
    alice.put(PREFIX, dehydrated_body(alice, old), expect=200)
    body = dehydrated_body(alice, public(new_key("n")))
    mangle(body)
    err = alice.put(PREFIX, body, expect=400).json
    assert err["errcode"] in ("M_BAD_JSON", "M_MISSING_PARAM", "M_INVALID_PARAM")
    assert alice.get(PREFIX, expect=200).json["device_id"] == old
