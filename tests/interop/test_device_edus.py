"""To-device messages, presence and device list changes, both directions."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.interop.chatly import Chatly
from tests.interop.client import Client, JsonDict, quote
from tests.interop.rooms import room_joined_across

TIMEOUT = 40


def _sync_until(client: Client, check: Callable[[JsonDict], Any], what: str) -> None:
    """Sync until one response passes ``check``."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if check(client.sync_once()):
            return
    raise AssertionError(f"{client.user_id} did not see {what} within {TIMEOUT}s")


def _to_device_from(sender: str, content: JsonDict) -> Callable[[JsonDict], bool]:
    return lambda body: any(
        e["type"] == "m.test" and e["sender"] == sender and e["content"] == content
        for e in body.get("to_device", {}).get("events", [])
    )


def _presence_of(user_id: str, status: str) -> Callable[[JsonDict], bool]:
    return lambda body: any(
        e["sender"] == user_id and e["content"].get("status_msg") == status
        for e in body.get("presence", {}).get("events", [])
    )


def _devices_changed(user_id: str) -> Callable[[JsonDict], bool]:
    return lambda body: user_id in body.get("device_lists", {}).get("changed", [])


def _device_id(client: Client) -> str:
    return str(client.call("GET", "/devices")["devices"][0]["device_id"])


def test_to_device_presence_and_device_lists_cross(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    room_joined_across(alice, chatly.server_name, bob)
    alice.sync_once()
    bob.sync_once()
    alice_device, bob_device = _device_id(alice), _device_id(bob)

    alice.call(
        "PUT",
        "/sendToDevice/m.test/ours",
        {"messages": {bob.user_id: {bob_device: {"from": "chatly"}}}},
    )
    _sync_until(bob, _to_device_from(alice.user_id, {"from": "chatly"}), "to-device")
    bob.call(
        "PUT",
        "/sendToDevice/m.test/theirs",
        {"messages": {alice.user_id: {alice_device: {"from": "synapse"}}}},
    )
    _sync_until(alice, _to_device_from(bob.user_id, {"from": "synapse"}), "to-device")

    for user, status in ((alice, "on chatly"), (bob, "on synapse")):
        user.call(
            "PUT",
            f"/presence/{quote(user.user_id)}/status",
            {"presence": "online", "status_msg": status},
        )
    _sync_until(bob, _presence_of(alice.user_id, "on chatly"), "our presence")
    _sync_until(alice, _presence_of(bob.user_id, "on synapse"), "Synapse's presence")

    alice.call("PUT", f"/devices/{alice_device}", {"display_name": "renamed"})
    _sync_until(bob, _devices_changed(alice.user_id), "our device list change")
    bob.call("PUT", f"/devices/{bob_device}", {"display_name": "renamed"})
    _sync_until(alice, _devices_changed(bob.user_id), "Synapse's device list change")
