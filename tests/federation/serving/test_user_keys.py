"""Keys across two real servers: /keys/query and /keys/claim reach the other
server through user/keys/query and user/keys/claim, and a server that is down
is a failure, not an error.

Spec: client-server API, "End-to-End Encryption"; server-server API,
"End-to-End Encryption".
"""

from __future__ import annotations

from typing import Any

from tests.e2ee.keys import CrossSigning, Device
from tests.federation.joined_pair import SharedRoom, shared_room
from tests.federation.pair import FederationPair
from tests.support import User

FED = "/_matrix/federation/v1"


def _room(pair: FederationPair) -> SharedRoom:
    room = shared_room(pair, pair.a, pair.b)
    pair.pump(0)
    return room


def _publish(user: User, otks: int = 0) -> tuple[Device, dict[str, Any]]:
    device = Device.of(user)
    fallback = device.fallback_key()
    body = {
        "device_keys": device.device_keys(),
        "one_time_keys": device.one_time_keys(otks),
        "fallback_keys": fallback,
    }
    user.post("/keys/upload", body, expect=200)
    return device, fallback


def test_query_and_claim_reach_the_other_server(pair: FederationPair) -> None:
    room = _room(pair)
    alice, bob = room.creator, room.joiner
    device, fallback = _publish(bob, otks=1)
    bob.post(
        "/keys/device_signing/upload",
        CrossSigning(bob.user_id).upload_body(),
        expect=200,
    )
    pair.pump(0)
    got = alice.post("/keys/query", {"device_keys": {bob.user_id: []}}, expect=200).json
    assert got["failures"] == {}
    keys = got["device_keys"][bob.user_id][bob.device_id]
    assert keys["keys"] == device.device_keys()["keys"]
    assert bob.user_id in got["master_keys"]
    assert bob.user_id in got["self_signing_keys"]
    assert bob.user_id not in got.get("user_signing_keys", {})

    ask = {"one_time_keys": {bob.user_id: {bob.device_id: "signed_curve25519"}}}
    first = alice.post("/keys/claim", ask, expect=200).json
    assert first["failures"] == {}
    ((key_id, _),) = first["one_time_keys"][bob.user_id][bob.device_id].items()
    assert key_id.startswith("signed_curve25519:AAAA")
    second = alice.post("/keys/claim", ask, expect=200).json
    assert second["one_time_keys"][bob.user_id][bob.device_id] == fallback


def test_an_unreachable_server_is_listed_in_failures(pair: FederationPair) -> None:
    alice = pair.a.user("alice")
    _publish(alice)
    pair.set_reachable("b.test", False)
    body = {"device_keys": {alice.user_id: [], "@zed:b.test": []}, "timeout": 500}
    got = alice.post("/keys/query", body, expect=200).json
    assert set(got["failures"]) == {"b.test"}
    assert alice.device_id in got["device_keys"][alice.user_id]
    ask = {"one_time_keys": {"@zed:b.test": {"DEV": "signed_curve25519"}}}
    claimed = alice.post("/keys/claim", ask, expect=200).json
    assert set(claimed["failures"]) == {"b.test"}
    assert claimed["one_time_keys"] == {}


def test_user_keys_answers_only_for_local_users(pair: FederationPair) -> None:
    bob = pair.b.user("bob")
    _publish(bob, otks=1)
    cs = CrossSigning(bob.user_id)
    bob.post("/keys/device_signing/upload", cs.upload_body(), expect=200)
    body = {"device_keys": {bob.user_id: [], "@alice:a.test": []}}
    resp = pair.signed_request(pair.a, pair.b, "POST", f"{FED}/user/keys/query", body)
    assert resp.code == 200
    assert list(resp.json["device_keys"]) == [bob.user_id]
    assert "user_signing_keys" not in resp.json
    devices = pair.signed_request(
        pair.a, pair.b, "GET", f"{FED}/user/devices/{bob.user_id}"
    ).json
    assert devices["user_id"] == bob.user_id
    assert [d["device_id"] for d in devices["devices"]] == [bob.device_id]
    assert devices["devices"][0]["keys"]["device_id"] == bob.device_id
    assert devices["master_key"]["keys"] == cs.master_key()["keys"]
    assert "user_signing_key" not in devices
    bad = pair.signed_request(
        pair.a, pair.b, "POST", f"{FED}/user/keys/claim", {"one_time_keys": []}
    )
    assert bad.code == 400
    unsigned = pair.b.request("POST", f"{FED}/user/keys/query", body)
    assert unsigned.code == 401
