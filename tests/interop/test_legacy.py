"""OpenID userinfo, the legacy event stream and initial sync, next to a real
Synapse: remote events reach the stream, and our answers have every key
Synapse's have."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.interop.chatly import Chatly
from tests.interop.client import Client, HttpError, quote, request
from tests.interop.rooms import room_joined_across
from tests.interop.synapse import Synapse

USERINFO = "/_matrix/federation/v1/openid/userinfo"


def _openid(client: Client, federation_url: str) -> tuple[dict[str, Any], Any]:
    token = client.call(
        "POST", f"/user/{quote(client.user_id)}/openid/request_token", {}
    )
    info = request(
        "GET", f"{federation_url}{USERINFO}?access_token={token['access_token']}"
    )
    return token, info


def test_openid_userinfo_answers_like_synapse(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    ours, our_info = _openid(alice, chatly.federation_url)
    theirs, their_info = _openid(bob, synapse.federation_url)
    assert our_info == {"sub": alice.user_id}
    assert their_info == {"sub": bob.user_id}
    assert set(ours) == set(theirs)
    assert ours["token_type"] == theirs["token_type"] == "Bearer"
    assert ours["matrix_server_name"] == chatly.server_name
    for url in (chatly.federation_url, synapse.federation_url):
        with pytest.raises(HttpError) as failure:
            request("GET", f"{url}{USERINFO}?access_token=not-a-token")
        assert (failure.value.status, failure.value.errcode) == (
            401,
            "M_UNKNOWN_TOKEN",
        )


def _stream_until(client: Client, start: str, event_id: str) -> dict[str, Any]:
    """Follow the /events stream from ``start`` until ``event_id`` arrives."""
    deadline = time.monotonic() + 60
    token = start
    while time.monotonic() < deadline:
        body = client.call(
            "GET", f"/events?from={quote(token)}&timeout=5000", timeout=30
        )
        for event in body["chunk"]:
            if event.get("event_id") == event_id:
                return dict(event)
        token = body["end"]
    raise AssertionError(f"{event_id} never reached the event stream")


def test_event_stream_carries_events_from_synapse(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    start = alice.call("GET", "/initialSync?limit=1")["end"]
    event_id = bob.send(room_id, "from synapse to the stream")
    event = _stream_until(alice, start, event_id)
    assert event["room_id"] == room_id
    assert event["sender"] == bob.user_id
    assert event["content"]["body"] == "from synapse to the stream"
    assert alice.call("GET", f"/events/{quote(event_id)}")["event_id"] == event_id


def test_legacy_answers_have_synapses_keys(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    event_id = bob.send(room_id, "shape")
    alice.wait_for_event_id(room_id, event_id)
    ours = alice.call("GET", "/initialSync?limit=2")
    theirs = bob.call("GET", "/initialSync?limit=2")
    assert set(theirs) <= set(ours), set(theirs) - set(ours)
    our_room = next(r for r in ours["rooms"] if r["room_id"] == room_id)
    their_room = next(r for r in theirs["rooms"] if r["room_id"] == room_id)
    assert set(their_room) <= set(our_room), set(their_room) - set(our_room)
    assert set(their_room["messages"]) == set(our_room["messages"])
    assert [e["event_id"] for e in our_room["messages"]["chunk"]][-1] == event_id
    assert [e["event_id"] for e in their_room["messages"]["chunk"]][-1] == event_id

    ours_one = alice.call("GET", f"/rooms/{quote(room_id)}/initialSync?limit=2")
    theirs_one = bob.call("GET", f"/rooms/{quote(room_id)}/initialSync?limit=2")
    assert set(theirs_one) <= set(ours_one), set(theirs_one) - set(ours_one)

    our_stream = alice.call("GET", f"/events?from={quote(ours['end'])}&timeout=0")
    their_stream = bob.call("GET", f"/events?from={quote(theirs['end'])}&timeout=0")
    assert set(our_stream) == set(their_stream) == {"chunk", "start", "end"}


def test_an_invite_from_synapse_reaches_the_stream_and_initial_sync(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    start = alice.call("GET", "/initialSync?limit=1")["end"]
    room_id = bob.create_room(preset="private_chat")
    bob.membership_action("invite", room_id, alice.user_id)
    deadline = time.monotonic() + 60
    token, invite = start, None
    while invite is None and time.monotonic() < deadline:
        body = alice.call(
            "GET", f"/events?from={quote(token)}&timeout=5000", timeout=30
        )
        invite = next(
            (
                e
                for e in body["chunk"]
                if e.get("room_id") == room_id and e.get("type") == "m.room.member"
            ),
            None,
        )
        token = body["end"]
    assert invite is not None, "the invite never reached the event stream"
    assert invite["state_key"] == alice.user_id
    assert invite["content"]["membership"] == "invite"
    snapshot = alice.call("GET", "/initialSync?limit=1")
    entry = next(r for r in snapshot["rooms"] if r["room_id"] == room_id)
    assert entry["membership"] == "invite"
    assert entry["inviter"] == bob.user_id
