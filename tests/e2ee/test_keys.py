"""Device keys, one-time keys and fallback keys over HTTP.

Spec: client-server API, "End-to-End Encryption" (keys/upload, keys/query,
keys/claim), and the key counts in /sync.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2ee.keys import Device
from tests.support import User
from tests.support.server import TestServer


def upload(user: User, expect: int | None = 200, **body: Any) -> Any:
    return user.post("/keys/upload", body, expect=expect).json


def query(user: User, *user_ids: str) -> Any:
    body = {"device_keys": {u: [] for u in user_ids}}
    return user.post("/keys/query", body, expect=200).json


def claim(user: User, target: User, algorithm: str = "signed_curve25519") -> Any:
    body = {"one_time_keys": {target.user_id: {target.device_id: algorithm}}}
    answer = user.post("/keys/claim", body, expect=200).json
    return answer["one_time_keys"].get(target.user_id, {}).get(target.device_id)


def test_upload_then_query_shows_device_keys_with_display_name(
    alice: User, bob: User
) -> None:
    device = Device.of(alice)
    alice.put(f"/devices/{alice.device_id}", {"display_name": "phone"}, expect=200)
    answer = upload(alice, device_keys=device.device_keys())
    assert answer == {"one_time_key_counts": {"signed_curve25519": 0}}
    got = query(bob, alice.user_id)
    keys = got["device_keys"][alice.user_id][alice.device_id]
    assert keys["keys"] == device.device_keys()["keys"]
    assert keys["signatures"] == device.device_keys()["signatures"]
    assert keys["unsigned"] == {"device_display_name": "phone"}
    assert got["failures"] == {}


def test_query_of_one_device_and_unknown_users(alice: User, bob: User) -> None:
    upload(alice, device_keys=Device.of(alice).device_keys())
    body = {
        "device_keys": {
            alice.user_id: [alice.device_id, "NOPE"],
            "@ghost:test": [],
        }
    }
    got = bob.post("/keys/query", body, expect=200).json
    assert list(got["device_keys"][alice.user_id]) == [alice.device_id]
    assert got["device_keys"]["@ghost:test"] == {}


def test_same_keys_again_is_fine_but_other_keys_are_refused(alice: User) -> None:
    device = Device.of(alice)
    keys = device.device_keys()
    upload(alice, device_keys=keys)
    upload(alice, device_keys=keys)
    other = Device.of(alice).device_keys()
    err = upload(alice, 400, device_keys=other)
    assert err["errcode"] == "M_INVALID_PARAM"
    stored = query(alice, alice.user_id)["device_keys"][alice.user_id]
    assert stored[alice.device_id]["keys"] == keys["keys"]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k.update(user_id="@someone:else"),
        lambda k: k.update(device_id="OTHER"),
        lambda k: k["signatures"].clear(),
        lambda k: k["keys"].update({"curve25519:X": "tampered"}),  # signature breaks
        lambda k: k.update(algorithms="m.megolm.v1.aes-sha2"),
        lambda k: k.update(keys=[]),
    ],
    ids=["user", "device", "unsigned", "tampered", "algorithms", "keys"],
)
def test_bad_device_keys_are_refused_and_change_nothing(
    alice: User, bob: User, mangle: Any
) -> None:
    keys = Device.of(alice).device_keys()
    mangle(keys)
    otks = Device.of(alice).one_time_keys(2)
    err = upload(alice, 400, device_keys=keys, one_time_keys=otks)
    assert err["errcode"] == "M_INVALID_PARAM"
    assert query(bob, alice.user_id)["device_keys"][alice.user_id] == {}
    assert claim(bob, alice) is None


def test_each_one_time_key_is_claimed_once_then_the_fallback(
    alice: User, bob: User
) -> None:
    device = Device.of(alice)
    otks = device.one_time_keys(3)
    fallback = device.fallback_key()
    counts = upload(
        alice,
        device_keys=device.device_keys(),
        one_time_keys=otks,
        fallback_keys=fallback,
    )["one_time_key_counts"]
    assert counts == {"signed_curve25519": 3}
    sync = alice.sync()
    assert sync["device_one_time_keys_count"] == {"signed_curve25519": 3}
    assert sync["device_unused_fallback_key_types"] == ["signed_curve25519"]
    seen = [claim(bob, alice) for _ in range(3)]
    assert sorted(k for got in seen for k in got) == sorted(otks)
    for got in seen:
        ((key_id, key),) = got.items()
        assert key == otks[key_id]
    # No one-time key left: the fallback key, again and again.
    assert claim(bob, alice) == fallback
    assert claim(bob, alice) == fallback
    sync = alice.sync()
    assert sync["device_one_time_keys_count"] == {"signed_curve25519": 0}
    assert sync["device_unused_fallback_key_types"] == []
    # A new fallback key replaces the old one and is unused.
    new_fallback = device.fallback_key("FB2")
    upload(alice, fallback_keys=new_fallback)
    assert alice.sync()["device_unused_fallback_key_types"] == ["signed_curve25519"]
    assert claim(bob, alice) == new_fallback


def test_sync_key_counts_follow_every_upload_and_claim(alice: User, bob: User) -> None:
    """The counts /sync sends are remembered between syncs (every answer
    carries them): a sync before any upload, then uploads that only add rows,
    claims and a second device's keys each show in the next sync."""
    assert alice.sync()["device_one_time_keys_count"] == {"signed_curve25519": 0}
    device = Device.of(alice)
    upload(alice, one_time_keys=device.one_time_keys(2))
    assert alice.sync()["device_one_time_keys_count"] == {"signed_curve25519": 2}
    upload(alice, one_time_keys=device.one_time_keys(3, start=2))
    assert alice.sync()["device_one_time_keys_count"] == {"signed_curve25519": 5}
    assert alice.sync()["device_unused_fallback_key_types"] == []
    upload(alice, fallback_keys=device.fallback_key())
    assert alice.sync()["device_unused_fallback_key_types"] == ["signed_curve25519"]
    claim(bob, alice)
    assert alice.sync()["device_one_time_keys_count"] == {"signed_curve25519": 4}
    # Bob's keys are his own: Alice's counts stay.
    upload(bob, one_time_keys=Device.of(bob).one_time_keys(1))
    assert bob.sync()["device_one_time_keys_count"] == {"signed_curve25519": 1}
    assert alice.sync()["device_one_time_keys_count"] == {"signed_curve25519": 4}


def test_unstable_fallback_field_and_other_algorithms(alice: User, bob: User) -> None:
    fallback = Device.of(alice).fallback_key()
    upload(
        alice,
        one_time_keys={"curve25519:K1": "plainkey"},
        **{"org.matrix.msc2732.fallback_keys": fallback},
    )
    assert claim(bob, alice, "curve25519") == {"curve25519:K1": "plainkey"}
    assert claim(bob, alice, "curve25519") is None
    assert claim(bob, alice) == fallback


def test_a_reused_one_time_key_id_with_other_contents_is_refused(alice: User) -> None:
    device = Device.of(alice)
    first = device.one_time_keys(1)
    upload(alice, one_time_keys=first)
    upload(alice, one_time_keys=first)  # the same again: fine
    other = device.one_time_keys(1)
    err = upload(alice, 400, one_time_keys=other)
    assert err["errcode"] == "M_INVALID_PARAM"
    assert alice.sync()["device_one_time_keys_count"]["signed_curve25519"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"one_time_keys": {"nocolon": {"key": "x"}}},
        {"one_time_keys": {"signed_curve25519:A": "not-an-object"}},
        {"one_time_keys": {"signed_curve25519:A": {"nokey": 1}}},
        {"one_time_keys": ["list"]},
        {"fallback_keys": {"signed_curve25519:A": {"key": 5}}},
        {"device_keys": "string"},
        {"one_time_keys": {"signed_curve25519:A": {"key": "k", "signatures": "x"}}},
    ],
)
def test_malformed_uploads_are_400_and_store_nothing(alice: User, body: Any) -> None:
    err = upload(alice, 400, **body)
    assert err["errcode"] in ("M_INVALID_PARAM", "M_BAD_JSON")
    sync = alice.sync()
    assert sync["device_one_time_keys_count"] == {"signed_curve25519": 0}
    assert sync["device_unused_fallback_key_types"] == []


def test_too_many_keys_in_one_upload_is_413(alice: User) -> None:
    keys = {f"curve25519:K{i}": "k" for i in range(1001)}
    err = upload(alice, 413, one_time_keys=keys)
    assert err["errcode"] == "M_TOO_LARGE"


def test_deleting_a_device_deletes_its_keys(
    server: TestServer, alice: User, bob: User
) -> None:
    device = Device.of(alice)
    upload(
        alice,
        device_keys=device.device_keys(),
        one_time_keys=device.one_time_keys(2),
        fallback_keys=device.fallback_key(),
    )
    other = server.login("alice")
    other.post(
        "/delete_devices",
        {
            "devices": [alice.device_id],
            "auth": {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": "alice"},
                "password": "password123",
            },
        },
        expect=200,
    )
    assert query(bob, alice.user_id)["device_keys"][alice.user_id] == {}
    assert claim(bob, alice) is None


def test_devices_answer_null_display_name(alice: User) -> None:
    devices = alice.get("/devices", expect=200).json["devices"]
    assert devices[0]["display_name"] is None
    one = alice.get(f"/devices/{alice.device_id}", expect=200).json
    assert one["display_name"] is None


def test_r0_prefix_and_auth(server: TestServer, alice: User) -> None:
    resp = server.request("POST", "/_matrix/client/r0/keys/upload", {})
    assert resp.code == 401
    resp = alice.request("POST", "/_matrix/client/r0/keys/upload", {}, expect=200)
    assert resp.json == {"one_time_key_counts": {"signed_curve25519": 0}}
