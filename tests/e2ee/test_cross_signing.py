"""Cross-signing keys and signatures over HTTP.

Spec: client-server API, "Cross-signing" (keys/device_signing/upload,
keys/signatures/upload, and the keys in keys/query).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2ee.keys import CrossSigning, Device, public, sign_as
from tests.support import User
from tests.support.server import TestServer

PASSWORD_AUTH = {
    "type": "m.login.password",
    "identifier": {"type": "m.id.user", "user": "alice"},
    "password": "password123",
}


def query(user: User, *user_ids: str) -> Any:
    body = {"device_keys": {u: [] for u in user_ids}}
    return user.post("/keys/query", body, expect=200).json


def test_first_upload_needs_no_auth_and_keys_show_in_query(
    alice: User, bob: User
) -> None:
    cs = CrossSigning(alice.user_id)
    alice.post("/keys/device_signing/upload", cs.upload_body(), expect=200)
    theirs = query(bob, alice.user_id)
    assert theirs["master_keys"][alice.user_id]["keys"] == cs.master_key()["keys"]
    assert alice.user_id in theirs["self_signing_keys"]
    # The user-signing key only to its owner.
    assert alice.user_id not in theirs.get("user_signing_keys", {})
    mine = query(alice, alice.user_id)
    assert alice.user_id in mine["user_signing_keys"]


def test_replacing_keys_needs_auth(alice: User) -> None:
    alice.post("/keys/device_signing/upload", CrossSigning(alice.user_id).upload_body())
    new = CrossSigning(alice.user_id)
    resp = alice.post("/keys/device_signing/upload", new.upload_body(), expect=401)
    assert "flows" in resp.json
    body = {
        **new.upload_body(),
        "auth": {**PASSWORD_AUTH, "session": resp.json["session"]},
    }
    alice.post("/keys/device_signing/upload", body, expect=200)
    got = query(alice, alice.user_id)["master_keys"][alice.user_id]
    assert got["keys"] == new.master_key()["keys"]


def test_the_same_keys_again_need_no_auth(alice: User) -> None:
    cs = CrossSigning(alice.user_id)
    alice.post("/keys/device_signing/upload", cs.upload_body(), expect=200)
    alice.post("/keys/device_signing/upload", cs.upload_body(), expect=200)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b["self_signing_key"]["signatures"].clear(),
        lambda b: b["master_key"].update(user_id="@bob:test"),
        lambda b: b["master_key"].update(usage=["self_signing"]),
        lambda b: b["user_signing_key"]["keys"].update({"ed25519:extra": "x"}),
        lambda b: b.pop("master_key"),
        lambda b: b["master_key"].update(
            keys={
                f"curve25519:{k.split(':')[1]}": v
                for k, v in b["master_key"]["keys"].items()
            }
        ),
    ],
    ids=["unsigned", "user", "usage", "two-keys", "no-master", "algorithm"],
)
def test_bad_cross_signing_keys_are_refused(
    alice: User, bob: User, mangle: Any
) -> None:
    body = CrossSigning(alice.user_id).upload_body()
    mangle(body)
    err = alice.post("/keys/device_signing/upload", body, expect=400).json
    assert err["errcode"] == "M_INVALID_PARAM"
    assert query(bob, alice.user_id).get("master_keys", {}) == {}


def test_self_signing_a_device_and_signing_another_users_master_key(
    server: TestServer, alice: User, bob: User
) -> None:
    device = Device.of(alice)
    keys = device.device_keys()
    alice.post("/keys/upload", {"device_keys": keys}, expect=200)
    cs = CrossSigning(alice.user_id)
    alice.post("/keys/device_signing/upload", cs.upload_body(), expect=200)
    bob_cs = CrossSigning(bob.user_id)
    bob.post("/keys/device_signing/upload", bob_cs.upload_body(), expect=200)

    signed_device = sign_as(keys, alice.user_id, cs.self_signing)
    signed_bob = sign_as(bob_cs.master_key(), alice.user_id, cs.user_signing)
    body = {
        alice.user_id: {alice.device_id: signed_device},
        bob.user_id: {public(bob_cs.master): signed_bob},
    }
    answer = alice.post("/keys/signatures/upload", body, expect=200).json
    assert answer == {"failures": {}}

    ssk_id = f"ed25519:{public(cs.self_signing)}"
    usk_id = f"ed25519:{public(cs.user_signing)}"
    seen_by_bob = query(bob, alice.user_id, bob.user_id)
    device_sigs = seen_by_bob["device_keys"][alice.user_id][alice.device_id][
        "signatures"
    ]
    assert ssk_id in device_sigs[alice.user_id]
    # Alice's signature of bob's master key is hers alone to see.
    bob_master = seen_by_bob["master_keys"][bob.user_id]
    assert alice.user_id not in bob_master.get("signatures", {})
    seen_by_alice = query(alice, bob.user_id)
    assert (
        usk_id in seen_by_alice["master_keys"][bob.user_id]["signatures"][alice.user_id]
    )


def test_bad_signatures_are_listed_in_failures(alice: User, bob: User) -> None:
    device = Device.of(alice)
    keys = device.device_keys()
    alice.post("/keys/upload", {"device_keys": keys}, expect=200)
    cs = CrossSigning(alice.user_id)
    alice.post("/keys/device_signing/upload", cs.upload_body(), expect=200)
    wrong_key = sign_as(keys, alice.user_id, cs.user_signing)  # not the ssk
    forged = sign_as(keys, alice.user_id, cs.self_signing)
    ssk_id = f"ed25519:{public(cs.self_signing)}"
    forged["signatures"][alice.user_id][ssk_id] = (
        "AAAA" + forged["signatures"][alice.user_id][ssk_id][4:]
    )
    other_json = sign_as({**keys, "algorithms": ["x"]}, alice.user_id, cs.self_signing)
    for signed in (wrong_key, forged, other_json):
        body = {alice.user_id: {alice.device_id: signed}}
        answer = alice.post("/keys/signatures/upload", body, expect=200).json
        failure = answer["failures"][alice.user_id][alice.device_id]
        assert failure["errcode"] in ("M_INVALID_SIGNATURE", "M_INVALID_PARAM")
    body = {
        alice.user_id: {"NOSUCHDEVICE": sign_as(keys, alice.user_id, cs.self_signing)}
    }
    answer = alice.post("/keys/signatures/upload", body, expect=200).json
    assert "NOSUCHDEVICE" in answer["failures"][alice.user_id]
    stored = query(bob, alice.user_id)["device_keys"][alice.user_id][alice.device_id]
    assert list(stored["signatures"][alice.user_id]) == [f"ed25519:{alice.device_id}"]


def test_a_device_signs_its_users_master_key(alice: User, bob: User) -> None:
    device = Device.of(alice)
    alice.post("/keys/upload", {"device_keys": device.device_keys()}, expect=200)
    cs = CrossSigning(alice.user_id)
    alice.post("/keys/device_signing/upload", cs.upload_body(), expect=200)
    signed = device.sign(cs.master_key())
    body = {alice.user_id: {public(cs.master): signed}}
    assert alice.post("/keys/signatures/upload", body, expect=200).json == {
        "failures": {}
    }
    master = query(bob, alice.user_id)["master_keys"][alice.user_id]
    assert f"ed25519:{alice.device_id}" in master["signatures"][alice.user_id]


def test_cross_signing_changes_reach_device_lists(
    server: TestServer, alice: User, bob: User
) -> None:
    room = alice.create_room(invite=[bob.user_id])
    bob.join(room)
    since = bob.sync()["next_batch"]
    alice.post("/keys/device_signing/upload", CrossSigning(alice.user_id).upload_body())
    changed = bob.sync(since=since, timeout=0)["device_lists"]["changed"]
    assert alice.user_id in changed
