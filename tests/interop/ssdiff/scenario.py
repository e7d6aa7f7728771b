"""The scripted scenario, written once and played against either server.

Three users of one server (alice syncs; bob and carol act), six rooms created
in a fixed order so that both servers rank them alike, and everything the
sliding-sync extensions report: account data (global, per room, ``m.direct``),
read receipts, typing, to-device messages and end-to-end key counts.

Every step waits until the server has it (local users: each call returns
after the event is persisted), so the responses that follow are comparable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs
from signedjson.key import (
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.sign import sign_json

from tests.interop.client import Client, JsonDict, log_in_again, quote, request

SS_PATH = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"

# The rooms alice is in or invited to, in the order they are created (oldest
# activity first); bob's "Elsewhere" comes last and is none of hers.
ROOM_LABELS = ("OldNews", "Group", "DM", "Secrets", "Project", "Party", "Hub")

# Synapse's default, given explicitly: Chatly's default is older (10).
ROOM_VERSION = "12"
AVATAR = "mxc://example.org/projectavatar"
BOB_AVATAR = "mxc://example.org/bobavatar"
MEGOLM = {"algorithm": "m.megolm.v1.aes-sha2"}
FAKE_CIPHERTEXT = {
    "algorithm": "m.megolm.v1.aes-sha2",
    "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
    "device_id": "BOBDEVICE",
    "sender_key": "IlRMeOPX2e0MurIyfWEucYBRVOEEUMrOHqn/8mLqMjA",
    "session_id": "X3lUlvLELLYxeTx4yOVu6UDpasGEVO0Jbu+QFnm0cKQ",
}


@attrs.define
class World:
    """The users and rooms of one server's run, and the labels of its IDs."""

    alice: Client
    bob: Client
    carol: Client
    # Another device of alice's, whose /sync tells when the server has
    # recorded a change (her syncing device must not /sync: that would take
    # its to-device messages).
    watcher: Client
    rooms: dict[str, str] = attrs.field(factory=dict)
    pos: str | None = None
    # The to_device extension's next_batch, sent back as its since (as clients
    # do, which acknowledges and deletes the messages before it).
    to_device_since: str | None = None
    # bob's message mentioning alice (redacted later).
    mention: str = ""

    def users(self) -> dict[str, str]:
        """User ID -> role."""
        return {c.user_id: n for n, c in self.clients().items()}

    def clients(self) -> dict[str, Client]:
        """Role -> client."""
        return {"@alice": self.alice, "@bob": self.bob, "@carol": self.carol}

    def sliding_sync(self, body: JsonDict, in_body: bool = False) -> JsonDict:
        """One request of alice's connection, from the last ``pos`` (timeout
        0); ``pos`` and ``timeout`` in the query string or, with ``in_body``,
        in the body (as the merged MSC has them)."""
        url = f"{self.alice.base_url}{SS_PATH}"
        if in_body:
            body = {**body, "timeout": 0}
            if self.pos is not None:
                body["pos"] = self.pos
        else:
            url += "?timeout=0"
            if self.pos is not None:
                url += f"&pos={quote(self.pos)}"
        answer: JsonDict = request(
            "POST", url, body, token=self.alice.token, timeout=60
        )
        self.pos = answer["pos"]
        to_device = answer.get("extensions", {}).get("to_device") or {}
        self.to_device_since = to_device.get("next_batch", self.to_device_since)
        return answer


def _txn() -> str:
    return f"d{time.monotonic_ns()}"


def send(
    client: Client, room_id: str, content: JsonDict, kind: str = "m.room.message"
) -> str:
    """Send an event of any content; its event ID."""
    path = f"/rooms/{quote(room_id)}/send/{kind}/{_txn()}"
    return str(client.call("PUT", path, content)["event_id"])


def text(client: Client, room_id: str, body: str, mention: Client | None = None) -> str:
    """An m.text message, mentioning ``mention`` (intentional mentions)."""
    content: JsonDict = {"msgtype": "m.text", "body": body}
    if mention is not None:
        content["m.mentions"] = {"user_ids": [mention.user_id]}
    return send(client, room_id, content)


def invite_and_join(inviter: Client, room_id: str, *guests: Client) -> None:
    for guest in guests:
        inviter.membership_action("invite", room_id, guest.user_id)
        guest.join(room_id)


def upload_keys(client: Client) -> None:
    """Two one-time keys and a fallback key for ``client``'s device (the
    server does not check their signatures on upload; e2ee counts them)."""

    def key(n: int, fallback: bool = False) -> JsonDict:
        out: JsonDict = {"key": f"{n:043d}", "signatures": {}}
        if fallback:
            out["fallback"] = True
        return out

    client.call(
        "POST",
        "/keys/upload",
        {
            "one_time_keys": {
                "signed_curve25519:AAAAAQ": key(1),
                "signed_curve25519:AAAAAg": key(2),
            },
            "fallback_keys": {"signed_curve25519:AAAAAw": key(3, fallback=True)},
        },
    )


def upload_device_keys(client: Client) -> None:
    """Self-signed device keys for ``client``'s device."""
    signing_key = generate_signing_key(client.device_id)
    ed25519 = encode_verify_key_base64(get_verify_key(signing_key))
    keys: JsonDict = {
        "user_id": client.user_id,
        "device_id": client.device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {
            f"curve25519:{client.device_id}": "c" * 43,
            f"ed25519:{client.device_id}": ed25519,
        },
    }
    signed = sign_json(keys, client.user_id, signing_key)
    client.call("POST", "/keys/upload", {"device_keys": signed})


def to_device(sender: Client, receiver: Client, kind: str, content: JsonDict) -> None:
    body = {"messages": {receiver.user_id: {receiver.device_id: content}}}
    sender.call("PUT", f"/sendToDevice/{quote(kind)}/{_txn()}", body)


def set_account_data(
    client: Client, kind: str, content: Any, room_id: str | None = None
) -> None:
    user = quote(client.user_id)
    if room_id is None:
        path = f"/user/{user}/account_data/{quote(kind)}"
    else:
        path = f"/user/{user}/rooms/{quote(room_id)}/account_data/{quote(kind)}"
    client.call("PUT", path, content)


def build_world(make_user: Callable[[str], Client]) -> World:
    """The users and rooms, and alice's state, before her first request."""
    alice = make_user("alice")
    world = World(alice, make_user("bob"), make_user("carol"), log_in_again(alice))
    alice, bob, carol = world.alice, world.bob, world.carol
    rooms = world.rooms
    # bob's avatar shows in his membership events, so in the heroes.
    bob.call(
        "PUT", f"/profile/{quote(bob.user_id)}/avatar_url", {"avatar_url": BOB_AVATAR}
    )

    rooms["OldNews"] = alice.create_room(
        room_version=ROOM_VERSION, preset="private_chat", name="Old news"
    )
    text(alice, rooms["OldNews"], "old news")

    # No name: alice sees it by its heroes.
    rooms["Group"] = bob.create_room(room_version=ROOM_VERSION, preset="private_chat")
    invite_and_join(bob, rooms["Group"], alice, carol)
    text(bob, rooms["Group"], "group hello")

    rooms["DM"] = bob.create_room(
        room_version=ROOM_VERSION,
        preset="trusted_private_chat",
        is_direct=True,
        invite=[alice.user_id],
    )
    alice.join(rooms["DM"])
    set_account_data(alice, "m.direct", {bob.user_id: [rooms["DM"]]})
    text(bob, rooms["DM"], "hi alice")

    rooms["Secrets"] = alice.create_room(
        room_version=ROOM_VERSION,
        preset="private_chat",
        name="Secrets",
        initial_state=[
            {"type": "m.room.encryption", "state_key": "", "content": MEGOLM}
        ],
    )
    invite_and_join(alice, rooms["Secrets"], bob)
    send(bob, rooms["Secrets"], FAKE_CIPHERTEXT, "m.room.encrypted")

    rooms["Project"] = alice.create_room(
        room_version=ROOM_VERSION,
        preset="private_chat",
        name="Project",
        topic="the plan",
    )
    invite_and_join(alice, rooms["Project"], bob, carol)
    first = text(bob, rooms["Project"], "first")
    text(carol, rooms["Project"], "second")
    world.mention = text(bob, rooms["Project"], "ping alice", mention=alice)
    alice.read_receipt(rooms["Project"], first)
    bob.read_receipt(rooms["Project"], first)
    bob.typing(rooms["Project"], True)

    rooms["Party"] = carol.create_room(
        room_version=ROOM_VERSION, preset="private_chat", name="Party"
    )
    carol.membership_action("invite", rooms["Party"], alice.user_id)

    # A space holding Project; the DM is a favourite.
    rooms["Hub"] = alice.create_room(
        room_version=ROOM_VERSION,
        preset="private_chat",
        name="Hub",
        creation_content={"type": "m.space"},
    )
    server = alice.user_id.split(":", 1)[1]
    alice.set_state(rooms["Hub"], "m.space.child", {"via": [server]}, rooms["Project"])
    tags = f"/user/{quote(alice.user_id)}/rooms/{quote(rooms['DM'])}/tags"
    alice.call("PUT", f"{tags}/m.favourite", {"order": 0.5})
    # A room alice has nothing to do with (her subscription to it is ignored).
    rooms["Elsewhere"] = bob.create_room(room_version=ROOM_VERSION, name="Elsewhere")

    set_account_data(alice, "org.example.colour", {"colour": "teal"})
    set_account_data(alice, "org.example.pinned", {"pinned": True}, rooms["Project"])
    upload_keys(alice)
    to_device(bob, alice, "org.example.ping", {"n": 1})
    return world


def act_between(world: World) -> None:
    """What happens between alice's first and second request."""
    alice, bob, carol, rooms = world.alice, world.bob, world.carol, world.rooms
    world.watcher.sync_once(timeout_ms=0)
    # The oldest room moves to the top.
    text(alice, rooms["OldNews"], "fresh news")
    text(carol, rooms["Project"], "third")
    # A state change the subscription asks for (m.room.topic).
    alice.set_state(rooms["Project"], "m.room.topic", {"topic": "the new plan"})
    # More in the DM than its timeline_limit (2): a gap.
    for n in range(4):
        text(bob, rooms["DM"], f"dm burst {n}")
    # bob takes back his mention.
    bob.redact(rooms["Project"], world.mention)
    # Alice reads up to "fourth" (own receipt: counts drop to zero).
    last = text(bob, rooms["Project"], "fourth")
    alice.read_receipt(rooms["Project"], last)
    bob.typing(rooms["Project"], False)
    carol.typing(rooms["Group"], True)
    to_device(bob, alice, "org.example.ping", {"n": 2})
    set_account_data(alice, "org.example.colour", {"colour": "plum"})
    # bob's device keys change: alice shares rooms with him. The change is
    # recorded after the upload answers (on Chatly by a signal receiver), so
    # wait until alice's other device sees it.
    upload_device_keys(bob)
    world.watcher.sync_until(
        lambda seen: bob.user_id in seen.device_lists_changed, "bob's new keys"
    )


def leave_secrets(world: World) -> None:
    """Alice leaves the encrypted room (bob stays)."""
    world.alice.leave(world.rooms["Secrets"])


def change_memberships(world: World) -> None:
    """Alice rejects the Party invite, is kicked from Group, takes the DM out
    of ``m.direct``; Project gets an avatar."""
    alice, bob, rooms = world.alice, world.bob, world.rooms
    alice.leave(rooms["Party"])
    bob.membership_action("kick", rooms["Group"], alice.user_id)
    set_account_data(alice, "m.direct", {})
    alice.set_state(rooms["Project"], "m.room.avatar", {"url": AVATAR})
