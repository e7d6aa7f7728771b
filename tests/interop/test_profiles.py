"""Profile propagation between Chatly and Synapse: a display name or avatar
change is a new member event in every joined room, which the other server's
users see in their timeline and in /joined_members."""

from __future__ import annotations

import time

from tests.interop.client import Client, quote, request
from tests.interop.rooms import room_joined_across
from tests.interop.synapse import Synapse


def _named(client: Client, room_id: str, user_id: str, name: str) -> dict:
    return client.wait_for_event(
        room_id,
        lambda e: (
            e.get("type") == "m.room.member"
            and e.get("state_key") == user_id
            and e["content"].get("displayname") == name
        ),
        f"{user_id} named {name}",
    )


def _set(client: Client, key: str, value: str) -> None:
    client.call("PUT", f"/profile/{quote(client.user_id)}/{key}", {key: value})


def test_our_profile_change_reaches_synapse(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    _set(alice, "displayname", "Alice on Chatly")
    _set(alice, "avatar_url", "mxc://chatly/alice")
    event = _named(bob, room_id, alice.user_id, "Alice on Chatly")
    assert event["content"]["membership"] == "join"
    bob.wait_for_event(
        room_id,
        lambda e: (
            e.get("type") == "m.room.member"
            and e.get("state_key") == alice.user_id
            and e["content"].get("avatar_url") == "mxc://chatly/alice"
        ),
        "alice's avatar",
    )
    joined = bob.call("GET", f"/rooms/{quote(room_id)}/joined_members")["joined"]
    assert joined[alice.user_id] == {
        "display_name": "Alice on Chatly",
        "avatar_url": "mxc://chatly/alice",
    }


def test_synapse_profile_change_reaches_us(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    _set(bob, "displayname", "Bob on Synapse")
    _named(alice, room_id, bob.user_id, "Bob on Synapse")
    joined = alice.call("GET", f"/rooms/{quote(room_id)}/joined_members")["joined"]
    assert joined[bob.user_id]["display_name"] == "Bob on Synapse"


def test_unset_avatar_answers_as_synapse_does(alice: Client, bob: Client) -> None:
    """GET /profile/{userId}/avatar_url of a user without one: both servers
    give the same answer, 200 ``{}`` (the spec says 404)."""
    ours = alice.call("GET", f"/profile/{quote(alice.user_id)}/avatar_url")
    theirs = bob.call("GET", f"/profile/{quote(bob.user_id)}/avatar_url")
    assert ours == theirs == {}
    # Asked across the servers, both ways: the same.
    assert alice.call("GET", f"/profile/{quote(bob.user_id)}/avatar_url") == {}
    assert bob.call("GET", f"/profile/{quote(alice.user_id)}/avatar_url") == {}


def test_our_directory_finds_synapse_users(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    """A Synapse user in a room with ours is found by our user directory, with
    the display name of their member event, and the new one after a change."""
    room_id = room_joined_across(bob, synapse.server_name, alice)
    localpart = bob.user_id[1:].split(":", 1)[0]

    def found(term: str) -> list[dict]:
        body = alice.call("POST", "/user_directory/search", {"search_term": term})
        return [r for r in body["results"] if r["user_id"] == bob.user_id]

    assert found(localpart)
    _set(bob, "displayname", "Searchable Synapsian")
    _named(alice, room_id, bob.user_id, "Searchable Synapsian")
    # The directory follows the member event through a signal receiver that
    # may finish just after /sync has shown the event: wait for it.
    deadline = time.monotonic() + 10
    while not found("synaps") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert found("synaps")[0]["display_name"] == "Searchable Synapsian"
    mutual = request(
        "GET",
        f"{alice.base_url}/_matrix/client/v1/mutual_rooms?user_id={quote(bob.user_id)}",
        token=alice.token,
    )
    assert room_id in mutual["joined"]
