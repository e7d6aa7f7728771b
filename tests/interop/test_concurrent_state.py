"""Concurrent state changes on both servers fork the room; both servers must
resolve the fork to the same state (state resolution v2, and v2.1 in v12)."""

from __future__ import annotations

import threading

import pytest

from tests.interop.client import Client
from tests.interop.rooms import raise_power, room_joined_across
from tests.interop.synapse import Synapse

ROUNDS = 4


def _at_once(*calls: tuple[Client, str, str]) -> list[str]:
    """Each client sets the room name at the same moment; the event IDs."""
    results: list[str] = [""] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index: int, client: Client, room_id: str, name: str) -> None:
        barrier.wait()
        results[index] = client.set_state(room_id, "m.room.name", {"name": name})

    threads = [
        threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("version", ["10", "12"])
def test_concurrent_names_resolve_the_same_on_both_servers(
    version: str, synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice, room_version=version)
    raise_power(bob, room_id, alice.user_id, 100)
    alice.wait_for_event(
        room_id,
        lambda e: (
            e["type"] == "m.room.power_levels"
            and e["content"].get("users", {}).get(alice.user_id) == 100
        ),
        "alice's power",
    )
    for round_ in range(ROUNDS):
        ids = _at_once(
            (alice, room_id, f"alice's name {round_}"),
            (bob, room_id, f"bob's name {round_}"),
        )
        for client in (alice, bob):
            for event_id in ids:
                client.wait_for_event_id(room_id, event_id)
        # A message on top merges the fork on each side.
        tip = bob.send(room_id, f"after round {round_}")
        alice.wait_for_event_id(room_id, tip)
        ours = alice.get_state(room_id, "m.room.name")
        theirs = bob.get_state(room_id, "m.room.name")
        assert ours == theirs, f"round {round_}: {ours} != {theirs}"
