"""Crafting PDUs and sending them to our server as if from Synapse.

The harness wrote Synapse's signing key, so a test can sign requests with
Synapse's real key (a valid X-Matrix header from a server in the room) and put
inside them events whose own signatures are wrong: what a malicious or broken
peer could send.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from signedjson.key import SigningKey, read_signing_keys

from homeserver.events.hashing import add_content_hash, compute_event_id
from homeserver.events.room_versions import RoomVersion, get_room_version
from homeserver.events.signing import sign_event
from homeserver.federation.transport.auth import sign_request
from tests.interop.chatly import Chatly
from tests.interop.client import Client, JsonDict, quote, request
from tests.interop.synapse import Synapse


def synapse_signing_key(synapse: Synapse | Chatly) -> SigningKey:
    """The key Synapse (or a peer Chatly) signs with (written by the harness)."""
    with open(synapse.data / "signing.key") as handle:
        [key] = read_signing_keys(handle)
    return key


class Forger:
    """Sends hand-made PDUs into ``room_id`` on our server, as Synapse."""

    def __init__(
        self,
        chatly: Chatly,
        synapse: Synapse | Chatly,
        insider: Client,
        room_id: str,
    ) -> None:
        self.chatly = chatly
        self.synapse = synapse
        self.insider = insider  # a local user in the room, to read its state
        self.room_id = room_id
        self.key = synapse_signing_key(synapse)

    def federation(self, method: str, path: str, body: Any = None) -> Any:
        """A federation request to our server, signed with Synapse's key."""
        header = sign_request(
            self.key,
            method,
            path,
            self.synapse.server_name,
            self.chatly.server_name,
            body,
        )
        return request(
            method,
            self.chatly.federation_url + path,
            body,
            headers={"Authorization": header},
        )

    def room_version(self) -> RoomVersion:
        """The room's version, from its create event."""
        create = self.insider.get_state(self.room_id, "m.room.create")
        version = get_room_version(str(create.get("room_version", "1")))
        assert version is not None
        return version

    def message(self, sender: str, body: str, signer: str, key: SigningKey) -> JsonDict:
        """A message PDU from ``sender``, signed by ``key`` as ``signer``.

        Its auth and prev events are the room's real ones, so the only thing
        wrong with it is what the test makes wrong.
        """
        content = {"msgtype": "m.text", "body": body}
        return self.event(sender, "m.room.message", content, signer, key)

    def redaction(self, sender: str, redacts: str) -> JsonDict:
        """A redaction PDU from ``sender`` naming ``redacts``, signed as Synapse
        (the ``redacts`` key where the room version keeps it)."""
        if self.room_version().redacts_in_content:
            return self.event(
                sender,
                "m.room.redaction",
                {"redacts": redacts},
                self.synapse.server_name,
                self.key,
            )
        return self.event(
            sender,
            "m.room.redaction",
            {},
            self.synapse.server_name,
            self.key,
            redacts=redacts,
        )

    def event(
        self,
        sender: str,
        event_type: str,
        content: JsonDict,
        signer: str,
        key: SigningKey,
        **fields: Any,
    ) -> JsonDict:
        """A PDU of ``event_type`` from ``sender``, signed by ``key`` as
        ``signer``, after the room's latest event, with extra top-level
        ``fields``."""
        state = self.insider.call("GET", f"/rooms/{quote(self.room_id)}/state")
        room_version = self.room_version()
        wanted = {("m.room.power_levels", ""), ("m.room.member", sender)}
        if not room_version.room_id_is_create_hash:  # v12: the room ID names it
            wanted.add(("m.room.create", ""))
        auth = [e["event_id"] for e in state if (e["type"], e["state_key"]) in wanted]
        latest = self.insider.call(
            "GET", f"/rooms/{quote(self.room_id)}/messages?dir=b&limit=1"
        )["chunk"][0]["event_id"]
        prev = self.federation(
            "GET", f"/_matrix/federation/v1/event/{urllib.parse.quote(latest)}"
        )["pdus"][0]
        pdu: JsonDict = {
            "room_id": self.room_id,
            "type": event_type,
            "sender": sender,
            "content": content,
            "origin_server_ts": int(time.time() * 1000),
            "depth": int(prev["depth"]) + 1,
            "prev_events": [latest],
            "auth_events": auth,
            **fields,
        }
        add_content_hash(pdu)
        sign_event(pdu, room_version, signer, key)
        return pdu

    def event_id(self, pdu: JsonDict) -> str:
        """The ID of a PDU of this room."""
        return compute_event_id(pdu, self.room_version())

    def send(self, pdus: list[JsonDict]) -> JsonDict:
        """PUT a transaction with ``pdus``; our server's per-PDU results."""
        txn = f"forged{time.monotonic_ns()}"
        body = {
            "origin": self.synapse.server_name,
            "origin_server_ts": int(time.time() * 1000),
            "pdus": pdus,
        }
        result: JsonDict = self.federation(
            "PUT", f"/_matrix/federation/v1/send/{txn}", body
        )
        return dict(result.get("pdus", {}))
