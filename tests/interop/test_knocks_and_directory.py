"""Knocking across servers, and each server's public room directory from the other."""

from __future__ import annotations

import time
import urllib.parse

from tests.interop.chatly import Chatly
from tests.interop.client import Client, quote
from tests.interop.synapse import Synapse


def _knock(client: Client, room_id: str, via: str) -> None:
    query = urllib.parse.urlencode({"server_name": via})
    client.call(
        "POST", f"/knock/{quote(room_id)}?{query}", {"reason": "let me in"}, timeout=90
    )


def _knock_then_admitted(admin: Client, knocker: Client, via: str) -> None:
    room_id = admin.create_room(
        preset="private_chat",
        initial_state=[
            {"type": "m.room.join_rules", "content": {"join_rule": "knock"}}
        ],
    )
    _knock(knocker, room_id, via)
    knock = admin.wait_for_membership(room_id, knocker.user_id, "knock")
    assert knock["content"].get("reason") == "let me in"
    admin.membership_action("invite", room_id, knocker.user_id)
    knocker.sync_until(lambda seen: room_id in seen.invites, "the invite")
    assert knocker.join(room_id) == room_id
    admin.wait_for_membership(room_id, knocker.user_id, "join")


def test_our_user_knocks_on_a_synapse_room(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    _knock_then_admitted(bob, alice, synapse.server_name)


def test_synapse_user_knocks_on_our_room(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    _knock_then_admitted(alice, bob, chatly.server_name)


def _published(client: Client, name: str) -> str:
    return client.create_room(preset="public_chat", visibility="public", name=name)


def _directory_of(client: Client, server: str) -> list[dict[str, object]]:
    query = urllib.parse.urlencode({"server": server, "limit": "100"})
    return list(client.call("GET", f"/publicRooms?{query}", timeout=60)["chunk"])


def _listed(client: Client, server: str, room_id: str) -> dict[str, object]:
    """The directory entry of ``room_id`` (Synapse lists new rooms after a
    moment, when its room statistics catch up)."""
    deadline = time.monotonic() + 30
    while True:
        listed = {r["room_id"]: r for r in _directory_of(client, server)}
        if room_id in listed or time.monotonic() > deadline:
            assert room_id in listed, listed
            return listed[room_id]
        time.sleep(0.5)


def test_public_room_directories_across(
    synapse: Synapse, chatly: Chatly, alice: Client, bob: Client
) -> None:
    theirs = _published(bob, "listed on Synapse")
    ours = _published(alice, "listed on Chatly")
    assert _listed(alice, synapse.server_name, theirs)["name"] == "listed on Synapse"
    assert _listed(bob, chatly.server_name, ours)["name"] == "listed on Chatly"
    # The POST form, with a filter, as Element's room directory uses it.
    body = alice.call(
        "POST",
        f"/publicRooms?server={quote(synapse.server_name)}",
        {"limit": 10, "filter": {"generic_search_term": "listed on Synapse"}},
        timeout=60,
    )
    assert theirs in [r["room_id"] for r in body["chunk"]]
