"""Our device list changes reach Synapse (m.device_list_update; Synapse may
also fetch GET /user/devices from us). The other direction, presence and
to-device messages are in test_more_edus.py."""

from __future__ import annotations

import time

from tests.interop.chatly import Chatly
from tests.interop.client import Client
from tests.interop.rooms import room_joined_across

TIMEOUT = 40


def test_our_device_list_changes_reach_synapse(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    room_joined_across(alice, chatly.server_name, bob)
    bob.sync_once(0)
    device_id = alice.call("GET", "/devices")["devices"][0]["device_id"]
    alice.call("PUT", f"/devices/{device_id}", {"display_name": "renamed"})
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        body = bob.sync_once()
        if alice.user_id in body.get("device_lists", {}).get("changed", []):
            return
    raise AssertionError(f"{bob.user_id} did not see alice's device change")
