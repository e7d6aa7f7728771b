"""Device lists over federation: updates carry keys into the other server's
remote device list cache, a gap resyncs the whole list, cross-signing keys
travel as m.signing_key_update, and each reaches the users sharing a room.

Spec: server-server API, "Device Management" and "End-to-End Encryption".
"""

from __future__ import annotations

from tests.e2ee.keys import CrossSigning, Device
from tests.federation.joined_pair import SharedRoom, shared_room
from tests.federation.pair import FederationPair
from tests.support import User

FED = "/_matrix/federation/v1"


def _room(pair: FederationPair) -> SharedRoom:
    room = shared_room(pair, pair.a, pair.b)
    pair.pump(0)
    return room


def _query(user: User, target: str) -> dict:
    body = {"device_keys": {target: []}, "timeout": 500}
    return user.post("/keys/query", body, expect=200).json


def _cached(pair: FederationPair, user_id: str) -> bool:
    cache = pair.a.hs.e2ee.remote_devices
    return user_id in pair.a.get_success(cache.get_cached_users([user_id]))


def test_updates_fill_the_cache_and_reach_sync(pair: FederationPair) -> None:
    room = _room(pair)
    alice, bob = room.creator, room.joiner
    since = alice.sync(timeout=0)["next_batch"]
    device = Device.of(bob)
    bob.post("/keys/upload", {"device_keys": device.device_keys()}, expect=200)
    pair.pump(0)
    pair.pump(0)
    body = alice.sync(since, timeout=0)
    assert bob.user_id in body["device_lists"]["changed"]
    assert _cached(pair, bob.user_id)
    # Served from the cache: b.test may be down.
    pair.set_reachable("b.test", False)
    got = _query(alice, bob.user_id)
    assert got["failures"] == {}
    assert (
        got["device_keys"][bob.user_id][bob.device_id]["keys"]
        == (device.device_keys()["keys"])
    )
    pair.set_reachable("b.test", True)

    # A new device, renamed, then deleted: each update continues the chain.
    phone = pair.b.login("bob")
    pair.pump(0)
    phone.put(f"/devices/{phone.device_id}", {"display_name": "phone"}, expect=200)
    pair.pump(0)
    pair.set_reachable("b.test", False)
    got = _query(alice, bob.user_id)["device_keys"][bob.user_id]
    assert set(got) == {bob.device_id}  # the phone has no keys yet
    cache = pair.a.hs.e2ee.remote_devices
    devices = pair.a.get_success(cache.get_devices([bob.user_id]))[bob.user_id]
    assert {d.device_id: d.display_name for d in devices}[phone.device_id] == "phone"
    pair.set_reachable("b.test", True)
    bob.delete(
        f"/devices/{phone.device_id}",
        {
            "auth": {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": "bob"},
                "password": "password123",
            }
        },
        expect=200,
    )
    pair.pump(0)
    devices = pair.a.get_success(cache.get_devices([bob.user_id]))[bob.user_id]
    assert [d.device_id for d in devices] == [bob.device_id]


def test_a_gap_resyncs_the_whole_list(pair: FederationPair) -> None:
    room = _room(pair)
    bob = room.joiner
    bob.post("/keys/upload", {"device_keys": Device.of(bob).device_keys()}, expect=200)
    pair.pump(0)
    assert _cached(pair, bob.user_id)
    # b.test's next update never arrives: a.test is cut off from b.test's
    # sender; the one after names a prev_id a.test never had.
    pair.set_reachable("a.test", False, from_server="b.test")
    missed = pair.b.login("bob")
    pair.pump(0)
    pair.set_reachable("a.test", True, from_server="b.test")
    latest = pair.b.get_success(pair.b.hs.devices.lists.latest_position(bob.user_id))
    update = {
        "user_id": bob.user_id,
        "device_id": "LATER",
        "stream_id": latest + 100,
        "prev_id": [latest + 99],
    }
    edu = {"edu_type": "m.device_list_update", "content": update}
    body = {"origin": "b.test", "origin_server_ts": 0, "pdus": [], "edus": [edu]}
    resp = pair.signed_request(pair.b, pair.a, "PUT", f"{FED}/send/gap1", body)
    assert resp.code == 200
    pair.pump(0)
    assert _cached(pair, bob.user_id)
    cache = pair.a.hs.e2ee.remote_devices
    devices = pair.a.get_success(cache.get_devices([bob.user_id]))[bob.user_id]
    # The resync's list is b.test's real one: the missed device, no "LATER".
    assert {d.device_id for d in devices} == {bob.device_id, missed.device_id}


def test_signing_key_updates_travel(pair: FederationPair) -> None:
    room = _room(pair)
    alice, bob = room.creator, room.joiner
    bob.post("/keys/upload", {"device_keys": Device.of(bob).device_keys()}, expect=200)
    pair.pump(0)
    since = alice.sync(timeout=0)["next_batch"]
    cs = CrossSigning(bob.user_id)
    bob.post("/keys/device_signing/upload", cs.upload_body(), expect=200)
    pair.pump(0)
    assert bob.user_id in alice.sync(since, timeout=0)["device_lists"]["changed"]
    pair.set_reachable("b.test", False)
    got = _query(alice, bob.user_id)
    assert got["master_keys"][bob.user_id]["keys"] == cs.master_key()["keys"]
    assert bob.user_id in got["self_signing_keys"]


def test_updates_for_strangers_or_from_the_wrong_server_are_ignored(
    pair: FederationPair,
) -> None:
    alice = pair.a.user("alice")
    since = alice.sync(timeout=0)["next_batch"]
    for origin, user_id in (("b.test", "@zed:b.test"), ("b.test", "@x:elsewhere")):
        update = {"user_id": user_id, "device_id": "D", "stream_id": 5, "prev_id": []}
        edu = {"edu_type": "m.device_list_update", "content": update}
        body = {"origin": origin, "origin_server_ts": 0, "pdus": [], "edus": [edu]}
        resp = pair.signed_request(pair.b, pair.a, "PUT", f"{FED}/send/{user_id}", body)
        assert resp.code == 200
    pair.pump(0)
    assert alice.sync(since, timeout=0)["device_lists"]["changed"] == []


def test_a_query_for_an_uncached_room_member_starts_caching(
    pair: FederationPair,
) -> None:
    room = _room(pair)
    alice, bob = room.creator, room.joiner
    bob.post("/keys/upload", {"device_keys": Device.of(bob).device_keys()}, expect=200)
    pair.pump(0)
    cache = pair.a.hs.e2ee.remote_devices
    pair.a.get_success(cache.mark_stale(bob.user_id, 0))
    assert not _cached(pair, bob.user_id)
    got = _query(alice, bob.user_id)
    assert bob.device_id in got["device_keys"][bob.user_id]
    pair.pump(0)
    assert _cached(pair, bob.user_id)
