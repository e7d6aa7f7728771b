"""A Synapse database with something in it, made by a real Synapse from PyPI.

Users register (through the shared-secret admin API), log in a second
device, set a display name, create rooms (one public, with an alias in the
directory), send messages, react, redact, send read receipts, set account
data and push rules, and upload media. Then Synapse stops, and the data
directory is what ``synctl import-synapse`` reads.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import attrs
import yaml
from signedjson.key import (
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)

from tests.interop.client import Client, log_in_again, quote, register, request
from tests.interop.synapse import SYNAPSE_VERSION, Synapse, ensure_synapse
from tests.ports import free_port
from tests.support.venvs import ensure_venv

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000105fe02fe0000000049454e44ae426082"
)


PUSHER: dict[str, Any] = {
    "kind": "http",
    "app_id": "org.example.app",
    "pushkey": "pushkey-1",
    "app_display_name": "Example",
    "device_display_name": "Alice's phone",
    "lang": "en",
    "data": {"url": "http://127.0.0.1:9/_matrix/push/v1/notify"},
}


@attrs.define
class SynapseSource:
    """What was made, to compare with the imported server."""

    data: Path
    server_name: str
    clients: dict[str, Client]
    passwords: dict[str, str]
    rooms: dict[str, str]
    messages: dict[str, list[str]]
    media_mxc: str
    reaction_id: str
    alias: str
    keys: dict[str, Any]

    @property
    def db(self) -> Path:
        """The SQLite database."""
        return self.data / "db"

    @property
    def media_store(self) -> Path:
        """Synapse's media_store_path."""
        return self.data / "media"

    @property
    def signing_key(self) -> Path:
        """Synapse's signing key file."""
        return self.data / "signing.key"


def _upload(client: Client, body: bytes) -> str:
    url = f"{client.base_url}/_matrix/media/v3/upload?filename=dot.png"
    return str(
        request(
            "POST",
            url,
            token=client.token,
            headers={"Content-Type": "image/png"},
            raw_body=body,
        )["content_uri"]
    )


def _react(client: Client, room_id: str, event_id: str) -> str:
    content: dict[str, Any] = {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": "👍"}
    }
    path = f"/rooms/{quote(room_id)}/send/m.reaction/react1"
    return str(client.call("PUT", path, content)["event_id"])


def _upload_keys(alice: Client) -> dict[str, Any]:
    """Device keys, a one-time key, a fallback key, a master cross-signing
    key and a key backup with one session, as a client would upload them
    (well-formed; the server checks no signatures here). What was uploaded."""
    device = {
        "user_id": alice.user_id,
        "device_id": alice.device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {
            f"curve25519:{alice.device_id}": "curveKeyOfAlice",
            f"ed25519:{alice.device_id}": "edKeyOfAlice",
        },
        "signatures": {alice.user_id: {f"ed25519:{alice.device_id}": "sig"}},
    }
    one_time = {"signed_curve25519:AAAAAQ": {"key": "otk1", "signatures": {}}}
    fallback = {
        "signed_curve25519:AAAAAg": {"key": "fb1", "fallback": True, "signatures": {}}
    }
    alice.call(
        "POST",
        "/keys/upload",
        {
            "device_keys": device,
            "one_time_keys": one_time,
            "fallback_keys": fallback,
        },
    )
    public = encode_verify_key_base64(get_verify_key(generate_signing_key("m")))
    master = {
        "user_id": alice.user_id,
        "usage": ["master"],
        "keys": {f"ed25519:{public}": public},
    }
    alice.call("POST", "/keys/device_signing/upload", {"master_key": master})
    auth_data = {"public_key": "backupKeyOfAlice", "signatures": {}}
    version = alice.call(
        "POST",
        "/room_keys/version",
        {"algorithm": "m.megolm_backup.v1.curve25519-aes-sha2", "auth_data": auth_data},
    )["version"]
    session = {
        "first_message_index": 0,
        "forwarded_count": 0,
        "is_verified": False,
        "session_data": {"ciphertext": "c", "ephemeral": "e", "mac": "m"},
    }
    alice.call(
        "PUT",
        f"/room_keys/keys/!someroom:example.org/session1?version={version}",
        session,
    )
    return {
        "device": device,
        "master": master,
        "auth_data": auth_data,
        "version": version,
        "session": session,
    }


def _populate(synapse: Synapse, data: Path) -> SynapseSource:
    alice = register(synapse.client_url, synapse.shared_secret, "alice", True)
    bob = register(synapse.client_url, synapse.shared_secret, "bob")
    # In no room: finds others only through the public lobby.
    carol = register(synapse.client_url, synapse.shared_secret, "carol")
    # Shadow-banned and locked by the admin; and a guest.
    mallory = register(synapse.client_url, synapse.shared_secret, "mallory")
    admin = f"{synapse.client_url}/_synapse/admin"
    request(
        "POST",
        f"{admin}/v1/users/{quote(mallory.user_id)}/shadow_ban",
        {},
        token=alice.token,
    )
    request(
        "PUT",
        f"{admin}/v2/users/{quote(mallory.user_id)}",
        {"locked": True},
        token=alice.token,
    )
    request(
        "POST",
        f"{admin}/v1/registration_tokens/new",
        {"token": "invite-only", "uses_allowed": 3},
        token=alice.token,
    )
    guest = request(
        "POST", f"{synapse.client_url}/_matrix/client/v3/register?kind=guest", {}
    )
    alice_phone = log_in_again(alice, "alice's phone")
    alice.call(
        "PUT", f"/profile/{quote(alice.user_id)}/displayname", {"displayname": "Alice"}
    )
    server = synapse.server_name
    alias = f"#lobby:{server}"
    lobby = alice.create_room(
        name="Lobby", preset="public_chat", room_alias_name="lobby", visibility="public"
    )
    # An older room version too (room_id in its events).
    private = alice.create_room(
        name="Secret", preset="private_chat", invite=[bob.user_id], room_version="10"
    )
    bob.join(lobby)
    bob.join(private)
    messages: dict[str, list[str]] = {lobby: [], private: []}
    for i in range(5):
        messages[lobby].append(alice.send(lobby, f"hello lobby {i}"))
        messages[lobby].append(bob.send(lobby, f"hi alice {i}"))
    messages[private].append(bob.send(private, "a secret"))
    reaction = _react(bob, lobby, messages[lobby][0])
    redacted = alice.send(lobby, "oops")
    alice.redact(lobby, redacted)
    bob.read_receipt(lobby, messages[lobby][-1])
    alice.call(
        "PUT",
        f"/user/{quote(alice.user_id)}/account_data/org.example.settings",
        {"theme": "dark"},
    )
    alice.call(
        "PUT",
        f"/user/{quote(alice.user_id)}/rooms/{quote(lobby)}/tags/u.work",
        {"order": 0.5},
    )
    alice.call(
        "PUT",
        "/pushrules/global/content/cakes",
        {"pattern": "cake", "actions": ["notify"]},
    )
    # Changes to server-default rules, and a pusher.
    alice.call(
        "PUT",
        "/pushrules/global/override/.m.rule.suppress_notices/enabled",
        {"enabled": False},
    )
    alice.call(
        "PUT", "/pushrules/global/underride/.m.rule.message/actions", {"actions": []}
    )
    alice.call("POST", "/pushers/set", PUSHER)
    keys = _upload_keys(alice)
    # For Alice's phone, which has not synced since: waits in its inbox.
    bob.call(
        "PUT",
        "/sendToDevice/org.example.note/note1",
        {"messages": {alice.user_id: {alice_phone.device_id: {"note": "for later"}}}},
    )
    mxc = _upload(alice, PNG)
    media_id = urllib.parse.urlparse(mxc).path.lstrip("/")
    assert media_id
    return SynapseSource(
        data=data,
        server_name=server,
        clients={
            "alice": alice,
            "bob": bob,
            "carol": carol,
            "alice_phone": alice_phone,
            "mallory": mallory,
            "guest": Client(
                synapse.client_url,
                guest["user_id"],
                guest["access_token"],
                guest["device_id"],
            ),
        },
        passwords={
            "alice": "interop password alice",
            "bob": "interop password bob",
            "carol": "interop password carol",
        },
        rooms={"lobby": lobby, "private": private},
        messages=messages,
        media_mxc=mxc,
        reaction_id=reaction,
        alias=alias,
        keys=keys,
    )


def ensure_synapse_postgres(version: str = SYNAPSE_VERSION) -> Path:
    """The python of a cached virtualenv with Synapse and its PostgreSQL
    driver (``matrix-synapse[postgres]``)."""
    return ensure_venv(
        "synapse-postgres",
        version,
        f"matrix-synapse[postgres]=={version}",
        "import psycopg2, synapse.app.homeserver",
    )


def use_postgres(data: Path, dsn: str) -> None:
    """Point the Synapse config in ``data`` at the PostgreSQL DSN ``dsn``."""
    path = data / "homeserver.yaml"
    config = yaml.safe_load(path.read_text())
    args: dict[str, Any] = dict(part.split("=", 1) for part in dsn.split())
    if "dbname" in args:
        args["database"] = args.pop("dbname")
    config["database"] = {
        "name": "psycopg2",
        # Test databases are made with the server's default locale.
        "allow_unsafe_locale": True,
        "args": {**args, "cp_min": 1, "cp_max": 5},
    }
    path.write_text(yaml.safe_dump(config))


def build_synapse_source(data: Path, postgres_dsn: str | None = None) -> SynapseSource:
    """Run a Synapse in ``data`` (on SQLite, or on the PostgreSQL database
    ``postgres_dsn``), fill it, stop it."""
    python = ensure_synapse_postgres() if postgres_dsn else ensure_synapse()
    synapse = Synapse(python, data, free_port(), free_port())
    path = data / "homeserver.yaml"
    path.write_text(
        yaml.safe_dump({**yaml.safe_load(path.read_text()), "allow_guest_access": True})
    )
    if postgres_dsn:
        use_postgres(data, postgres_dsn)
    synapse.start()
    try:
        return _populate(synapse, data)
    finally:
        synapse.stop()
