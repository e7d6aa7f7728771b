"""Presence and to-device messages, both directions."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.interop.chatly import Chatly
from tests.interop.client import Client, SyncState, quote, request
from tests.interop.forge import Forger
from tests.interop.rooms import room_joined_across
from tests.interop.synapse import Synapse


def _presence_of(user_id: str, status_msg: str) -> Callable[[SyncState], bool]:
    def check(seen: SyncState) -> bool:
        return any(
            e.get("sender") == user_id
            and e["content"].get("presence") == "online"
            and e["content"].get("status_msg") == status_msg
            for e in seen.presence
            if e.get("type") == "m.presence"
        )

    return check


def _set_presence(client: Client, status_msg: str) -> None:
    client.call(
        "PUT",
        f"/presence/{quote(client.user_id)}/status",
        {"presence": "online", "status_msg": status_msg},
    )


def test_presence_both_ways(chatly: Chatly, alice: Client, bob: Client) -> None:
    room_joined_across(alice, chatly.server_name, bob)
    alice.sync_once(0)
    bob.sync_once(0)
    _set_presence(bob, "busy on Synapse")
    alice.sync_until(_presence_of(bob.user_id, "busy on Synapse"), "bob's presence")
    _set_presence(alice, "around on Chatly")
    bob.sync_until(_presence_of(alice.user_id, "around on Chatly"), "alice's presence")


def _send_to_device(
    sender: Client,
    target: Client,
    marker: str,
    event_type: str = "m.interop.test",
    device: str | None = None,
) -> None:
    txn = f"d{time.monotonic_ns()}"
    to = device or target.device_id
    sender.call(
        "PUT",
        f"/sendToDevice/{event_type}/{txn}",
        {"messages": {target.user_id: {to: {"marker": marker}}}},
    )


def _to_device_from(
    sender: str, marker: str, event_type: str = "m.interop.test"
) -> Callable[[SyncState], bool]:
    def check(seen: SyncState) -> bool:
        return any(
            e.get("sender") == sender
            and e.get("type") == event_type
            and e.get("content", {}).get("marker") == marker
            for e in seen.to_device
        )

    return check


def test_to_device_messages_both_ways(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    room_joined_across(alice, chatly.server_name, bob)
    alice.sync_once(0)
    bob.sync_once(0)
    _send_to_device(alice, bob, "from Chatly")
    bob.sync_until(_to_device_from(alice.user_id, "from Chatly"), "alice's message")
    _send_to_device(bob, alice, "from Synapse")
    alice.sync_until(_to_device_from(bob.user_id, "from Synapse"), "bob's message")


def test_encrypted_to_device_to_every_device_both_ways(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    """What key sharing sends (m.room.encrypted, m.room_key_request,
    m.secret.request, verification events) is opaque to-device traffic; ``*``
    reaches every device of the user."""
    room_joined_across(alice, chatly.server_name, bob)
    alice.sync_once(0)
    bob.sync_once(0)
    for event_type in ("m.room.encrypted", "m.room_key_request", "m.secret.request"):
        marker = f"{event_type} to *"
        _send_to_device(alice, bob, marker, event_type, "*")
        bob.sync_until(
            _to_device_from(alice.user_id, marker, event_type), f"alice's {event_type}"
        )
    request_type = "m.key.verification.request"
    _send_to_device(bob, alice, "verification to *", request_type, "*")
    alice.sync_until(
        _to_device_from(bob.user_id, "verification to *", request_type),
        "bob's verification request",
    )


def _login_again(client: Client) -> None:
    """A new device for ``client``'s user (a device list change)."""
    localpart = client.user_id[1:].split(":")[0]
    request(
        "POST",
        f"{client.base_url}/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": "interop password " + localpart,
        },
    )


def test_synapse_device_list_changes_reach_us(
    chatly: Chatly, alice: Client, bob: Client
) -> None:
    room_joined_across(alice, chatly.server_name, bob)
    alice.sync_once(0)
    # Sharing a room may itself have listed bob; only the new device counts.
    alice.seen.device_lists_changed.clear()
    alice.sync_once(0)
    assert bob.user_id not in alice.seen.device_lists_changed
    _login_again(bob)
    alice.sync_until(
        lambda seen: bob.user_id in seen.device_lists_changed, "bob's new device"
    )


def test_our_user_devices_as_synapse_asks_for_them(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    """GET /user/devices, signed with Synapse's key as Synapse sends it when it
    resyncs a remote user's device list."""
    room_id = room_joined_across(alice, chatly.server_name, bob)
    forger = Forger(chatly, synapse, alice, room_id)
    answer = forger.federation(
        "GET", f"/_matrix/federation/v1/user/devices/{quote(alice.user_id)}"
    )
    assert answer["user_id"] == alice.user_id
    assert alice.device_id in [d["device_id"] for d in answer["devices"]]
    assert isinstance(answer["stream_id"], int)
