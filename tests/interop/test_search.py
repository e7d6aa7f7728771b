"""Search with a real Synapse: messages from Synapse users are found on our
server, and a redaction sent through Synapse takes its target out of our
index; our users' messages reach Synapse's search as well."""

from __future__ import annotations

from typing import Any

from tests.interop.client import Client
from tests.interop.rooms import room_joined_across
from tests.interop.synapse import Synapse


def _search(user: Client, term: str) -> list[str]:
    body: Any = user.call(
        "POST",
        "/search",
        {
            "search_categories": {
                "room_events": {"search_term": term, "order_by": "recent"}
            }
        },
    )
    results = body["search_categories"]["room_events"]["results"]
    return [r["result"]["content"]["body"] for r in results]


def test_search_finds_synapse_messages_and_honours_their_redaction(
    synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    first = bob.send(room_id, "pineapple pizza from synapse")
    second = bob.send(room_id, "another pineapple thought")
    alice.wait_for_event_id(room_id, second)
    assert _search(alice, "pineapple") == [
        "another pineapple thought",
        "pineapple pizza from synapse",
    ]
    redaction = bob.redact(room_id, first)
    alice.wait_for_event_id(room_id, redaction)
    assert _search(alice, "pineapple") == ["another pineapple thought"]

    mine = alice.send(room_id, "pineapple from chatly")
    bob.wait_for_event_id(room_id, mine)
    assert _search(bob, "chatly") == ["pineapple from chatly"]
