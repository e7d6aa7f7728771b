"""A remote user's device list after we missed an update (a stream gap),
with Synapse and with a second Chatly as the remote server.

Synapse's m.device_list_update chain (``stream_id`` / ``prev_id``) tells us
when we missed an update: then we resync the whole list from Synapse's
``GET /user/devices`` and carry on from its ``stream_id``. The gap is made by
an update signed with Synapse's key whose ``prev_id`` names an update we never
had (the one a lost transaction would have carried); everything else is real
traffic from Synapse, and our user reads the keys through ``/keys/query``.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from signedjson.key import (
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.sign import sign_json

from homeserver.config.keyfile import read_signing_key
from homeserver.federation.transport.auth import sign_request
from tests.interop.chatly import Chatly
from tests.interop.client import Client, log_in_again, request
from tests.interop.forge import Forger
from tests.interop.rooms import room_joined_across
from tests.interop.synapse import Synapse

TIMEOUT = 45


def _upload_device_keys(client: Client) -> None:
    """Signed device keys for the client's device (what a client uploads)."""
    key = generate_signing_key(client.device_id)
    public = encode_verify_key_base64(get_verify_key(key))
    device_keys = {
        "user_id": client.user_id,
        "device_id": client.device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {
            f"ed25519:{client.device_id}": public,
            f"curve25519:{client.device_id}": public,
        },
    }
    client.call(
        "POST",
        "/keys/upload",
        {"device_keys": sign_json(device_keys, client.user_id, key)},
    )


def _devices_seen(reader: Client, user_id: str) -> set[str]:
    answer = reader.call("POST", "/keys/query", {"device_keys": {user_id: []}})
    return set(answer["device_keys"].get(user_id, {}))


def _wait_for_devices(reader: Client, user_id: str, wanted: set[str]) -> None:
    deadline = time.monotonic() + TIMEOUT
    seen: set[str] = set()
    while time.monotonic() < deadline:
        seen = _devices_seen(reader, user_id)
        if seen == wanted:
            return
        time.sleep(0.5)
    raise AssertionError(f"{reader.user_id} sees {seen} of {user_id}, not {wanted}")


def _remote_stream_id(chatly: Chatly, remote: Synapse | Chatly, user_id: str) -> int:
    """The remote server's device list position for ``user_id``, asked as
    our server."""
    key = read_signing_key(chatly.data / "signing.key")
    path = f"/_matrix/federation/v1/user/devices/{urllib.parse.quote(user_id, safe='')}"
    header = sign_request(
        key, "GET", path, chatly.server_name, remote.server_name, None
    )
    answer: Any = request(
        "GET", remote.federation_url + path, headers={"Authorization": header}
    )
    return int(answer["stream_id"])


def test_a_gap_in_synapse_s_device_list_updates_is_resynced(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    _gap_story(chatly, synapse, alice, bob)


def test_a_gap_in_a_chatly_peer_s_device_list_updates_is_resynced(
    chatly: Chatly,
    peer_chatly: Chatly,
    alice: Client,
    peer_user: Callable[[str], Client],
) -> None:
    _gap_story(chatly, peer_chatly, alice, peer_user("bob"))


def _gap_story(
    chatly: Chatly, synapse: Synapse | Chatly, alice: Client, bob: Client
) -> None:
    """``bob`` of ``synapse`` (Synapse or a second Chatly) and ``alice`` of
    ours share a room; we miss one of bob's device list updates."""
    room_id = room_joined_across(bob, synapse.server_name, alice)
    _upload_device_keys(bob)
    _wait_for_devices(alice, bob.user_id, {bob.device_id})
    phone = log_in_again(bob, "phone")
    _upload_device_keys(phone)
    _wait_for_devices(alice, bob.user_id, {bob.device_id, phone.device_id})

    # We "miss" the update Synapse sends next: the one after it arrives,
    # naming it as its prev_id, and (wrongly) saying the phone is gone.
    position = _remote_stream_id(chatly, synapse, bob.user_id)
    gap = {
        "edu_type": "m.device_list_update",
        "content": {
            "user_id": bob.user_id,
            "device_id": phone.device_id,
            "stream_id": position + 2,
            "prev_id": [position + 1],
            "deleted": True,
        },
    }
    forger = Forger(chatly, synapse, alice, room_id)
    since = alice.sync_once(0)["next_batch"]
    forger.federation(
        "PUT",
        f"/_matrix/federation/v1/send/gap{time.monotonic_ns()}",
        {
            "origin": synapse.server_name,
            "origin_server_ts": int(time.time() * 1000),
            "pdus": [],
            "edus": [gap],
        },
    )
    # The gap is noticed (alice is told to re-query) and the list is taken
    # from Synapse, not from the update: the phone is still there.
    deadline = time.monotonic() + TIMEOUT
    while bob.user_id not in alice.call("GET", f"/sync?since={since}&timeout=1000").get(
        "device_lists", {}
    ).get("changed", []):
        assert time.monotonic() < deadline, "alice was not told to re-query bob"
    _wait_for_devices(alice, bob.user_id, {bob.device_id, phone.device_id})
    # ... by a resync of the whole list (not only by asking Synapse while
    # the cache is stale), which is what lets the chain continue below.
    resynced = f"resynced 2 devices of {bob.user_id}"
    while resynced not in (chatly.data / "homeserver.log").read_text():
        assert time.monotonic() < deadline, "no resync of bob's device list"
        time.sleep(0.5)

    # Real updates after the resync apply again: a third device, then the
    # phone logged out for real.
    tablet = log_in_again(bob, "tablet")
    _upload_device_keys(tablet)
    _wait_for_devices(
        alice, bob.user_id, {bob.device_id, phone.device_id, tablet.device_id}
    )
    phone.call("POST", "/logout", {})
    _wait_for_devices(alice, bob.user_id, {bob.device_id, tablet.device_id})
