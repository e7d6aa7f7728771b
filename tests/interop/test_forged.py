"""Events with a bad signature or a forged sender are rejected.

The transaction itself is genuine (a valid X-Matrix header from Synapse, a server
in the room); only the events inside are wrong, as a malicious or broken peer
would send them. A correctly signed event sent the same way is the control.
"""

from __future__ import annotations

import pytest
from signedjson.key import generate_signing_key

from tests.interop.chatly import Chatly
from tests.interop.client import Client, HttpError, quote
from tests.interop.forge import Forger
from tests.interop.rooms import bodies, messages, room_joined_across
from tests.interop.synapse import Synapse


def test_bad_signatures_and_forged_senders_are_rejected(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    room_id = room_joined_across(alice, chatly.server_name, bob)
    forger = Forger(chatly, synapse, alice, room_id)
    real_key = forger.key

    # Control: the same path with a correctly signed event is accepted.
    genuine = forger.message(bob.user_id, "genuine", synapse.server_name, real_key)
    genuine_id = forger.event_id(genuine)
    assert forger.send([genuine]) == {genuine_id: {}}
    alice.wait_for_event_id(room_id, genuine_id)

    # Signed under Synapse's key ID, but by another key.
    impostor_key = generate_signing_key(real_key.version)
    bad_signature = forger.message(
        bob.user_id, "bad signature", synapse.server_name, impostor_key
    )
    # Claims to come from our own user, signed only by Synapse.
    forged_sender = forger.message(
        alice.user_id, "forged sender", synapse.server_name, real_key
    )
    forged_ids = [forger.event_id(bad_signature), forger.event_id(forged_sender)]
    results = forger.send([bad_signature, forged_sender])
    for event_id in forged_ids:
        assert "error" in results[event_id], results

    # Anything sent after them arrives; they never do.
    later = bob.send(room_id, "after the forgeries")
    alice.wait_for_event_id(room_id, later)
    for event_id in forged_ids:
        with pytest.raises(HttpError) as info:
            alice.call("GET", f"/rooms/{quote(room_id)}/event/{quote(event_id)}")
        assert info.value.status == 404
    seen = bodies(messages(alice, room_id))
    assert "genuine" in seen
    assert "bad signature" not in seen
    assert "forged sender" not in seen
    assert not alice.seen.find(room_id, lambda e: e["event_id"] in forged_ids)


def test_an_event_with_a_bad_content_hash_is_kept_redacted(
    chatly: Chatly, synapse: Synapse, alice: Client, bob: Client
) -> None:
    """Content changed after signing: the signature (over the redacted form)
    still holds, the content hash does not, so the event is stored redacted."""
    room_id = room_joined_across(alice, chatly.server_name, bob)
    forger = Forger(chatly, synapse, alice, room_id)
    pdu = forger.message(bob.user_id, "original", synapse.server_name, forger.key)
    pdu["content"]["body"] = "tampered in transit"
    event_id = forger.event_id(pdu)
    results = forger.send([pdu])
    assert "error" not in results.get(event_id, {}), results
    seen = alice.wait_for_event_id(room_id, event_id)
    assert seen["content"] == {}
    event = alice.call("GET", f"/rooms/{quote(room_id)}/event/{quote(event_id)}")
    assert event["content"] == {}
    assert "tampered in transit" not in bodies(messages(alice, room_id))
