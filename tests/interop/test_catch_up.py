"""Catch-up after downtime, both ways: nothing lost, nothing duplicated, in order."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from tests.interop.chatly import Chatly
from tests.interop.client import Client, JsonDict, quote, register, request
from tests.interop.rooms import bodies, is_message, messages, room_joined_across
from tests.interop.synapse import Synapse

CATCH_UP_TIMEOUT = 120.0


def _tag() -> str:
    return secrets.token_hex(3)


def admin_get(admin: Client, path: str) -> JsonDict:
    """GET an admin API path (Synapse's paths, which we serve too)."""
    result: JsonDict = request("GET", admin.base_url + path, token=admin.token)
    return result


def _wait(predicate: Callable[[], object], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f}s"
        time.sleep(0.5)


def _exactly_once_in_order(
    client: Client, room_id: str, sent: list[str], also: tuple[str, ...] = ()
) -> None:
    """Each of ``sent`` (a chain, so in order) and ``also`` (sent from the other
    side meanwhile, so on a fork and ordered by depth) appears exactly once."""
    got = [b for b in bodies(messages(client, room_id)) if b in sent or b in also]
    assert sorted(got) == sorted([*sent, *also])
    assert [b for b in got if b in sent] == sent


def test_we_catch_up_after_being_down(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(bob, synapse.server_name, alice)
    admin = register(synapse.client_url, synapse.shared_secret, "admin" + _tag(), True)
    destination = (
        f"/_synapse/admin/v1/federation/destinations/{quote(chatly.server_name)}"
    )
    alice.sync_once(0)
    sent = [f"while Chatly was down {i}" for i in range(5)]
    chatly.stop()
    try:
        for body in sent:
            bob.send(room_id, body)
        # Synapse tried, failed, and now backs off from us.
        _wait(lambda: admin_get(admin, destination)["failure_ts"], "a failure")
    finally:
        chatly.start()
    # People keep talking; that also tells Synapse we are back.
    back = alice.send(room_id, "Chatly is back")
    bob.wait_for_event_id(room_id, back, timeout=CATCH_UP_TIMEOUT)
    alice.wait_for_event(
        room_id, is_message(sent[-1]), "the last missed message", CATCH_UP_TIMEOUT
    )
    _exactly_once_in_order(alice, room_id, sent)
    # In Synapse's own view we are healthy again.
    _wait(lambda: admin_get(admin, destination)["failure_ts"] is None, "recovery")
    # And Synapse did not get anything twice either.
    _exactly_once_in_order(bob, room_id, sent, also=("Chatly is back",))


def test_synapse_catches_up_after_being_down(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(alice, chatly.server_name, bob)
    admin = register(chatly.client_url, chatly.shared_secret, "admin" + _tag(), True)
    destination = (
        f"/_synapse/admin/v1/federation/destinations/{quote(synapse.server_name)}"
    )
    sent = [f"while Synapse was down {i}" for i in range(5)]
    synapse.stop()
    try:
        for body in sent:
            alice.send(room_id, body)
        # Our queue for Synapse is failing, backing off, and holds the events.
        _wait(lambda: admin_get(admin, destination)["failure_ts"], "a failure")
        assert admin_get(admin, destination)["pending_pdus"] >= 1
    finally:
        synapse.start()
    bob.wait_for_event(
        room_id, is_message(sent[-1]), "the last missed message", CATCH_UP_TIMEOUT
    )
    _exactly_once_in_order(bob, room_id, sent)
    _wait(lambda: admin_get(admin, destination)["failure_ts"] is None, "recovery")
    assert admin_get(admin, destination)["pending_pdus"] == 0
    after = bob.send(room_id, "Synapse is back")
    alice.wait_for_event_id(room_id, after, timeout=CATCH_UP_TIMEOUT)
    _exactly_once_in_order(alice, room_id, sent, also=("Synapse is back",))


def test_our_queue_survives_our_restart(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    """What we could not deliver while Synapse was down is still delivered when
    we were restarted in the meantime: the queue is persisted."""
    room_id = room_joined_across(alice, chatly.server_name, bob)
    sent = [f"queued across our restart {i}" for i in range(5)]
    synapse.stop()
    try:
        for body in sent:
            alice.send(room_id, body)
        chatly.stop()
        chatly.start()
    finally:
        synapse.start()
    bob.wait_for_event(
        room_id, is_message(sent[-1]), "the last queued message", CATCH_UP_TIMEOUT
    )
    _exactly_once_in_order(bob, room_id, sent)


def test_we_catch_up_on_a_long_gap(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    """More than a transaction's worth (and more than one get_missing_events
    answer) while we were down: still nothing lost, nothing duplicated."""
    room_id = room_joined_across(bob, synapse.server_name, alice)
    sent = [f"long gap {i}" for i in range(60)]
    chatly.stop()
    try:
        for body in sent:
            bob.send(room_id, body)
    finally:
        chatly.start()
    back = alice.send(room_id, "back after a long gap")
    bob.wait_for_event_id(room_id, back, timeout=CATCH_UP_TIMEOUT)
    alice.wait_for_event(
        room_id, is_message(sent[-1]), "the last missed message", CATCH_UP_TIMEOUT
    )
    _exactly_once_in_order(alice, room_id, sent)
