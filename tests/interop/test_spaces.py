"""Space hierarchies across Chatly and a real Synapse, both ways: each
server's space with a child room on the other, and a space on the other
server walked from here (GET /_matrix/federation/v1/hierarchy each way)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.interop.chatly import Chatly
from tests.interop.client import Client, HttpError, quote, request
from tests.interop.synapse import Synapse


def _space(client: Client, name: str) -> str:
    return client.create_room(
        preset="public_chat", name=name, creation_content={"type": "m.space"}
    )


def _add_child(client: Client, space: str, child: str, via: str) -> None:
    client.set_state(space, "m.space.child", {"via": [via]}, child)


def _hierarchy(client: Client, room_id: str, via: str | None = None) -> Any:
    url = f"{client.base_url}/_matrix/client/v1/rooms/{quote(room_id)}/hierarchy"
    if via is not None:
        url += f"?org.matrix.msc4235.via={quote(via)}"
    return request("GET", url, token=client.token, timeout=60)


def _rooms_when(
    client: Client, space: str, want: set[str], via: str | None = None
) -> dict[str, Any]:
    """The hierarchy's rooms by ID, once they include ``want`` (Synapse's
    room statistics, which its summaries read, catch up after a moment)."""
    deadline = time.monotonic() + 30
    while True:
        rooms = {r["room_id"]: r for r in _hierarchy(client, space, via)["rooms"]}
        if want <= set(rooms) or time.monotonic() > deadline:
            assert want <= set(rooms), rooms
            return rooms
        time.sleep(0.5)


def test_our_space_with_a_synapse_child(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    space = _space(alice, "Chatly space")
    theirs = bob.create_room(preset="public_chat", name="Synapse room")
    _add_child(alice, space, theirs, synapse.server_name)

    rooms = _rooms_when(alice, space, {space, theirs})

    assert rooms[theirs]["name"] == "Synapse room"
    assert rooms[theirs]["num_joined_members"] == 1
    assert rooms[theirs]["children_state"] == []
    assert [c["state_key"] for c in rooms[space]["children_state"]] == [theirs]


def test_synapse_space_with_our_child(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    space = _space(bob, "Synapse space")
    ours = alice.create_room(preset="public_chat", name="Chatly room")
    private = alice.create_room(preset="private_chat", name="Chatly secret")
    _add_child(bob, space, ours, chatly.server_name)
    _add_child(bob, space, private, chatly.server_name)

    rooms = _rooms_when(bob, space, {space, ours})

    assert rooms[ours]["name"] == "Chatly room"
    assert rooms[ours]["join_rule"] == "public"
    assert private not in rooms


def test_walking_a_synapse_space_from_chatly(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    space = _space(bob, "Remote space")
    child = bob.create_room(preset="public_chat", name="Remote child")
    _add_child(bob, space, child, synapse.server_name)

    # Synapse's room IDs (room v12) name no server: the client names one.
    rooms = _rooms_when(alice, space, {space, child}, via=synapse.server_name)

    assert rooms[space]["room_type"] == "m.space"
    assert rooms[child]["name"] == "Remote child"
    # A private Synapse space is forbidden to a Chatly user outside it.
    hidden = bob.create_room(
        preset="private_chat", creation_content={"type": "m.space"}
    )
    try:
        _hierarchy(alice, hidden, via=synapse.server_name)
    except HttpError as exc:
        assert (exc.status, exc.errcode) == (403, "M_FORBIDDEN")
    else:
        raise AssertionError("a private remote space was shown")


def test_between_two_chatlys(
    chatly: Chatly,
    peer_chatly: Chatly,
    alice: Client,
    peer_user: Callable[[str], Client],
) -> None:
    carol = peer_user("carol")
    space = _space(alice, "Chatly space")
    theirs = carol.create_room(preset="public_chat", name="Peer room")
    secret = carol.create_room(preset="private_chat", name="Peer secret")
    _add_child(alice, space, theirs, peer_chatly.server_name)
    _add_child(alice, space, secret, peer_chatly.server_name)

    # Our walk asks the peer about its rooms; the private one is left out.
    rooms = _rooms_when(alice, space, {space, theirs})
    assert rooms[theirs]["name"] == "Peer room"
    assert secret not in rooms
    # The peer's user walks our space from the peer, and sees her own
    # private room there too (the peer is in it and she is joined).
    rooms = _rooms_when(carol, space, {space, theirs, secret}, via=chatly.server_name)
    assert rooms[space]["name"] == "Chatly space"
    assert rooms[secret]["name"] == "Peer secret"
