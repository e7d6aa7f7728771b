"""Threads, reactions and edits across Chatly and Synapse, both directions:
each server aggregates the other's thread replies (GET /event's
unsigned m.relations, /relations, /threads)."""

from __future__ import annotations

import time
from typing import Any

from tests.interop.chatly import Chatly
from tests.interop.client import Client, quote, request
from tests.interop.rooms import room_joined_across
from tests.interop.synapse import Synapse

DEADLINE = 60.0


def v1(client: Client, path: str) -> Any:
    return request(
        "GET", f"{client.base_url}/_matrix/client/v1{path}", None, token=client.token
    )


def send(client: Client, room_id: str, content: dict[str, Any], kind: str) -> str:
    txn = f"t{time.monotonic_ns()}"
    path = f"/rooms/{quote(room_id)}/send/{kind}/{txn}"
    return str(client.call("PUT", path, content)["event_id"])


def thread_reply(client: Client, room_id: str, root: str, body: str) -> str:
    content = {
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {"rel_type": "m.thread", "event_id": root},
    }
    return send(client, room_id, content, "m.room.message")


def until(check: Any, what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def thread_of(client: Client, room_id: str, root: str) -> Any:
    event = client.call("GET", f"/rooms/{quote(room_id)}/event/{quote(root)}")
    return event.get("unsigned", {}).get("m.relations", {}).get("m.thread")


def _threads_across(author: Client, replier: Client, room_id: str) -> None:
    """``author`` starts a thread; ``replier`` (other server) answers in it;
    both servers aggregate both replies."""
    root = author.send(room_id, "thread root")
    replier.wait_for_event_id(room_id, root)
    theirs = thread_reply(replier, room_id, root, "reply from the other server")
    author.wait_for_event_id(room_id, theirs)
    mine = thread_reply(author, room_id, root, "reply from home")
    replier.wait_for_event_id(room_id, mine)
    for client in (author, replier):
        summary = until(
            lambda c=client: (
                (s := thread_of(c, room_id, root)) and s["count"] == 2 and s
            ),
            f"{client.user_id}'s thread summary",
        )
        assert summary["latest_event"]["event_id"] == mine
        assert summary["current_user_participated"] is True
        chunk = v1(client, f"/rooms/{quote(room_id)}/relations/{quote(root)}/m.thread")
        assert {e["event_id"] for e in chunk["chunk"]} == {mine, theirs}
        threads = v1(client, f"/rooms/{quote(room_id)}/threads")
        assert root in [e["event_id"] for e in threads["chunk"]]
    # A reaction from the other server shows in the home server's /relations.
    reaction = send(
        replier,
        room_id,
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": root, "key": "👍"}},
        "m.reaction",
    )
    author.wait_for_event_id(room_id, reaction)
    listed = v1(author, f"/rooms/{quote(room_id)}/relations/{quote(root)}/m.annotation")
    assert [e["event_id"] for e in listed["chunk"]] == [reaction]


def test_threads_in_a_synapse_room(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    _threads_across(bob, alice, room_id)
    _threads_across(alice, bob, room_id)


def test_threads_in_our_room(chatly: Chatly, alice: Client, bob: Client) -> None:
    room_id = room_joined_across(alice, chatly.server_name, bob)
    _threads_across(alice, bob, room_id)
    _threads_across(bob, alice, room_id)


def test_edit_from_synapse_is_bundled(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    original = bob.send(room_id, "typo")
    edit = send(
        bob,
        room_id,
        {
            "msgtype": "m.text",
            "body": "* fixed",
            "m.new_content": {"msgtype": "m.text", "body": "fixed"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": original},
        },
        "m.room.message",
    )
    alice.wait_for_event_id(room_id, edit)
    event = alice.call("GET", f"/rooms/{quote(room_id)}/event/{quote(original)}")
    replace = event["unsigned"]["m.relations"]["m.replace"]
    assert replace["event_id"] == edit
    assert replace["content"]["m.new_content"]["body"] == "fixed"
    assert event["content"]["body"] == "typo"
