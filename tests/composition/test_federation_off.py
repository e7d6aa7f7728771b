"""The services work with federation switched off: nothing of the federation
wing is plugged into them, and rooms, messages and /sync work over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.server import TestServer

CLIENT = "/_matrix/client/v3"


@pytest.fixture
def offline(make_server: Callable[..., TestServer]) -> TestServer:
    return make_server({"federation": {"enabled": False}})


def test_nothing_of_federation_is_bound(offline: TestServer) -> None:
    hs = offline.hs
    assert not hs.rooms.membership.remote.plugged
    assert not hs.rooms.directory.remote.plugged
    assert not hs.accounts.profiles.remote.plugged
    assert not hs.reading.pagination.backfiller.plugged
    signals = hs.core.signals
    receivers = [
        name
        for signal in (
            signals.event_persisted,
            signals.membership_changed,
            signals.presence_changed,
            signals.typing_changed,
            signals.receipt_stored,
            signals.device_list_changed,
        )
        for name in signal.receivers
    ]
    assert not [r for r in receivers if "Edus" in r or "FederationSender" in r]


def test_create_room_send_and_sync(offline: TestServer) -> None:
    alice, alice_token = offline.register("alice")
    bob, bob_token = offline.register("bob")
    resp = offline.request(
        "POST", f"{CLIENT}/createRoom", {"invite": [bob]}, token=alice_token
    )
    assert resp.code == 200, resp.json
    room_id = resp.json["room_id"]
    assert (
        offline.request(
            "POST", f"{CLIENT}/rooms/{room_id}/join", {}, token=bob_token
        ).code
        == 200
    )
    first = offline.request("GET", f"{CLIENT}/sync", token=bob_token)
    assert first.code == 200
    resp = offline.request(
        "PUT",
        f"{CLIENT}/rooms/{room_id}/send/m.room.message/t1",
        {"msgtype": "m.text", "body": "hello"},
        token=alice_token,
    )
    assert resp.code == 200, resp.json
    since = first.json["next_batch"]
    resp = offline.request(
        "GET", f"{CLIENT}/sync?since={since}&timeout=0", token=bob_token
    )
    assert resp.code == 200
    timeline = resp.json["rooms"]["join"][room_id]["timeline"]["events"]
    assert [e["content"].get("body") for e in timeline] == ["hello"]
    assert timeline[0]["sender"] == alice


def test_other_servers_are_out_of_reach(offline: TestServer) -> None:
    _, token = offline.register("alice")
    resp = offline.request(
        "POST", f"{CLIENT}/join/!room:elsewhere.example", {}, token=token
    )
    assert resp.code == 403
    resp = offline.request("GET", f"{CLIENT}/profile/@bob:elsewhere.example")
    assert resp.code == 404
    # The federation API itself answers, refusing.
    resp = offline.request("GET", "/_matrix/federation/v1/version")
    assert resp.code == 200
    resp = offline.request("PUT", "/_matrix/federation/v1/send/t1", {"pdus": []})
    assert resp.code == 403


def test_an_invite_to_a_room_no_one_is_joined_to_can_be_rejected(
    offline: TestServer,
) -> None:
    """Without federation, a room no local user is joined to is still ours:
    leaving it (rejecting the invite) happens here."""
    _, alice_token = offline.register("alice")
    bob, bob_token = offline.register("bob")
    room_id = offline.request(
        "POST", f"{CLIENT}/createRoom", {"invite": [bob]}, token=alice_token
    ).json["room_id"]
    assert (
        offline.request(
            "POST", f"{CLIENT}/rooms/{room_id}/leave", {}, token=alice_token
        ).code
        == 200
    )
    resp = offline.request(
        "POST", f"{CLIENT}/rooms/{room_id}/leave", {}, token=bob_token
    )
    assert resp.code == 200, resp.json


def test_device_list_changes_reach_sync(offline: TestServer) -> None:
    """The device_lists stream is the devices domain's, not federation's."""
    alice, alice_token = offline.register("alice")
    bob, bob_token = offline.register("bob")
    room_id = offline.request(
        "POST", f"{CLIENT}/createRoom", {"invite": [bob]}, token=alice_token
    ).json["room_id"]
    offline.request("POST", f"{CLIENT}/rooms/{room_id}/join", {}, token=bob_token)
    since = offline.request("GET", f"{CLIENT}/sync", token=alice_token).json[
        "next_batch"
    ]
    resp = offline.request(
        "POST",
        f"{CLIENT}/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "bob"},
            "password": "password123",
        },
    )
    assert resp.code == 200
    offline.advance(0)
    body = offline.request(
        "GET", f"{CLIENT}/sync?since={since}&timeout=0", token=alice_token
    ).json
    assert body["device_lists"]["changed"] == [bob]
