"""matrix-js-sdk 43 with Rust crypto, in Node 22, against a server started by synctl.

One server for the module. The scripts in ``tests/e2e/js`` drive the SDK; each
writes a JSON result that the tests check, and the tests check the server's
side over plain HTTP: cross-signing keys and signatures in ``/keys/query``,
secret storage in account data, the key backup in ``/room_keys``. The last test
pairs the SDK with matrix-nio (python-olm) in one encrypted room.

Node 22 and the SDK are installed from npm on first use (tests/e2e/js_peer.py).
Without CI set, a machine that cannot install them skips this module; with CI
set, that is a failure.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nio
import pytest
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import SignatureVerifyException, verify_signed_json
from unpaddedbase64 import decode_base64

from tests.e2e.conftest import RunningServer, synctl_server
from tests.e2e.js_peer import Account, JsPeer, JsSdk, ensure_js_sdk, register
from tests.e2e.nio_clients import Decrypting, encrypting_client, send_encrypted_text
from tests.interop.client import request
from tests.support.installs import installed_or_skip

pytestmark = [
    pytest.mark.integration,
    # One worker runs them all (--dist loadgroup): one install check, one server.
    pytest.mark.xdist_group("js_sdk"),
    # The first test may include `npm ci` (about ten seconds, more on a cold cache).
    pytest.mark.timeout(600),
]

PASSPHRASE = "correct horse battery staple"
MESSAGES = 3
NIO_DEADLINE = 90.0

JsonDict = dict[str, Any]


@pytest.fixture(scope="session")
def js_sdk() -> JsSdk:
    """Node 22 and matrix-js-sdk, installed from npm on first use."""
    return installed_or_skip("Node 22 and matrix-js-sdk", ensure_js_sdk)


@pytest.fixture(scope="module")
def chatly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for the module, started and stopped with synctl. The module
    registers and logs in more often than the default per-address limits allow."""
    data_dir = tmp_path_factory.mktemp("js-sdk") / "data"
    with synctl_server(data_dir, {"rate_limiting.enabled": "false"}) as server:
        yield server


@pytest.fixture(scope="module")
def peer(
    js_sdk: JsSdk, chatly: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> JsPeer:
    return JsPeer(
        js_sdk,
        tmp_path_factory.mktemp("js-sdk-work"),
        chatly.url,
        chatly.data_dir / "homeserver.log",
    )


def _account(server: RunningServer, name: str) -> Account:
    localpart = f"{name}-{secrets.token_hex(3)}"
    return register(server.url, localpart, f"{localpart} long password")


def _client_api(server: RunningServer, path: str) -> str:
    return f"{server.url}/_matrix/client/v3{path}"


def _keys_query(server: RunningServer, account: Account) -> JsonDict:
    """The account's own keys, as its other devices would see them."""
    answer: JsonDict = request(
        "POST",
        _client_api(server, "/keys/query"),
        {"device_keys": {account.user_id: []}},
        token=account.access_token,
    )
    return answer


def _account_data(server: RunningServer, account: Account, kind: str) -> JsonDict:
    user = urllib.parse.quote(account.user_id)
    answer: JsonDict = request(
        "GET",
        _client_api(server, f"/user/{user}/account_data/{kind}"),
        token=account.access_token,
    )
    return answer


def _the_key(key: JsonDict) -> tuple[str, str]:
    """The (key ID, public key) of a cross-signing key object: it has exactly one."""
    ((key_id, public),) = key["keys"].items()
    return key_id, public


def _assert_signed(signed: JsonDict, user_id: str, key_id: str, public: str) -> None:
    """``signed`` carries a valid signature by ``user_id``'s ed25519 ``key_id``."""
    assert key_id in signed.get("signatures", {}).get(user_id, {}), (
        f"no signature by {key_id} on {signed}"
    )
    verify_key = decode_verify_key_bytes(key_id, decode_base64(public))
    try:
        verify_signed_json(signed, user_id, verify_key)
    except SignatureVerifyException as exc:
        raise AssertionError(f"bad signature by {key_id} on {signed}: {exc}") from None


# --- logging in -------------------------------------------------------------


@pytest.fixture(scope="module")
def smoke(chatly: RunningServer, peer: JsPeer) -> tuple[Account, JsonDict]:
    """A user logged in once with the SDK (Rust crypto started, first sync done)."""
    account = _account(chatly, "smoke")
    return account, peer.run("login.mjs", account)


def test_js_sdk_logs_in_and_publishes_its_device_keys(
    chatly: RunningServer, smoke: tuple[Account, JsonDict]
) -> None:
    account, result = smoke
    assert result["user_id"] == account.user_id
    assert result["crypto_version"].startswith("Rust SDK")

    device_id = result["device_id"]
    device = _keys_query(chatly, account)["device_keys"][account.user_id][device_id]
    ed25519 = result["device_keys"]["ed25519"]
    assert device["keys"] == {
        f"ed25519:{device_id}": ed25519,
        f"curve25519:{device_id}": result["device_keys"]["curve25519"],
    }
    _assert_signed(device, account.user_id, f"ed25519:{device_id}", ed25519)


def test_js_sdk_needs_no_workarounds(smoke: tuple[Account, JsonDict]) -> None:
    """The SDK got every endpoint it asked for (lib.mjs notes any it went without)."""
    _, result = smoke
    assert result["server_gaps"] == []


# --- cross-signing, secret storage, key backup --------------------------------


@pytest.fixture(scope="module")
def bootstrapped(chatly: RunningServer, peer: JsPeer) -> tuple[Account, JsonDict]:
    """A first device that bootstrapped cross-signing and secret storage with a
    new key backup, then sent encrypted messages whose keys are in the backup."""
    account = _account(chatly, "alice")
    result = peer.run(
        "bootstrap.mjs",
        account,
        passphrase=PASSPHRASE,
        backup=True,
        messages=str(MESSAGES),
    )
    return account, result


def test_cross_signing_and_secret_storage_are_bootstrapped(
    chatly: RunningServer, bootstrapped: tuple[Account, JsonDict]
) -> None:
    account, result = bootstrapped
    user_id, device_id = account.user_id, result["device_id"]
    # The SDK's own view.
    assert result["cross_signing_ready"] is True
    assert result["secret_storage_ready"] is True
    assert result["cross_signing_status"] == {
        "publicKeysOnDevice": True,
        "privateKeysInSecretStorage": True,
        "privateKeysCachedLocally": {
            "masterKey": True,
            "selfSigningKey": True,
            "userSigningKey": True,
        },
    }
    assert result["device_verification"]["crossSigningVerified"] is True
    # Uploading cross-signing keys is behind UIA; the callback answered the
    # password stage (or, as the spec allows for a first upload, none was asked).
    stages = result["uia_stages"]
    assert stages == "none" or ["m.login.password"] in stages, stages

    # The server's view: published keys, and signatures that verify.
    keys = _keys_query(chatly, account)
    master = keys["master_keys"][user_id]
    self_signing = keys["self_signing_keys"][user_id]
    user_signing = keys["user_signing_keys"][user_id]
    device = keys["device_keys"][user_id][device_id]
    assert master["usage"] == ["master"]
    assert self_signing["usage"] == ["self_signing"]
    assert user_signing["usage"] == ["user_signing"]
    master_id, master_public = _the_key(master)
    ssk_id, ssk_public = _the_key(self_signing)
    usk_id, usk_public = _the_key(user_signing)
    assert master_public == result["master_key"]
    assert ssk_public == result["self_signing_key"]
    assert usk_public == result["user_signing_key"]
    _assert_signed(self_signing, user_id, master_id, master_public)
    _assert_signed(user_signing, user_id, master_id, master_public)
    # The device is signed by the self-signing key (POST /keys/signatures/upload),
    # and the device signed the master key.
    _assert_signed(device, user_id, ssk_id, ssk_public)
    _assert_signed(
        master, user_id, f"ed25519:{device_id}", result["device_keys"]["ed25519"]
    )

    # Secret storage, in account data: a default key derived from the
    # passphrase, and the three private keys and the backup key encrypted with it.
    key_id = result["default_key_id"]
    assert _account_data(chatly, account, "m.secret_storage.default_key") == {
        "key": key_id
    }
    description = _account_data(chatly, account, f"m.secret_storage.key.{key_id}")
    assert description["algorithm"] == "m.secret_storage.v1.aes-hmac-sha2"
    assert description["passphrase"]["algorithm"] == "m.pbkdf2"
    for secret in (
        "m.cross_signing.master",
        "m.cross_signing.self_signing",
        "m.cross_signing.user_signing",
        "m.megolm_backup.v1",
    ):
        stored = _account_data(chatly, account, secret)
        assert set(stored["encrypted"][key_id]) == {"iv", "ciphertext", "mac"}


def test_replacing_cross_signing_keys_asks_for_the_password(
    chatly: RunningServer, peer: JsPeer
) -> None:
    account = _account(chatly, "carol")
    result = peer.run("reset_cross_signing.mjs", account)
    # Keys already exist, so the server must ask (spec: POST
    # /keys/device_signing/upload); the callback answered m.login.password.
    stages = result["second"]["uia_stages"]
    assert stages != "none" and ["m.login.password"] in stages, stages
    assert result["first"]["master_key"]
    assert result["second"]["master_key"] != result["first"]["master_key"]
    # The server now hands out the new master key, and the device is signed
    # by the new self-signing key.
    keys = _keys_query(chatly, account)
    master_id, master_public = _the_key(keys["master_keys"][account.user_id])
    assert master_public == result["second"]["master_key"]
    ssk_id, ssk_public = _the_key(keys["self_signing_keys"][account.user_id])
    _assert_signed(
        keys["self_signing_keys"][account.user_id],
        account.user_id,
        master_id,
        master_public,
    )
    device = keys["device_keys"][account.user_id][result["device_id"]]
    _assert_signed(device, account.user_id, ssk_id, ssk_public)


def test_new_device_restores_the_key_backup_with_the_recovery_key(
    chatly: RunningServer, peer: JsPeer, bootstrapped: tuple[Account, JsonDict]
) -> None:
    account, first = bootstrapped
    version = first["backup_version"]
    assert version
    assert len(first["sent"]) == MESSAGES
    assert first["backed_up_sessions"]

    backup = request(
        "GET", _client_api(chatly, "/room_keys/version"), token=account.access_token
    )
    assert backup["version"] == version
    assert backup["algorithm"] == "m.megolm_backup.v1.curve25519-aes-sha2"
    assert backup["count"] >= 1
    assert backup["etag"]

    restored = peer.run(
        "restore.mjs",
        account,
        recovery_key=first["recovery_key"],
        room_id=first["room_id"],
        event_ids=",".join(sent["event_id"] for sent in first["sent"]),
    )
    assert restored["device_id"] != first["device_id"]
    # Without the backup, the new device cannot read what the first one sent...
    assert [event["decrypted"] for event in restored["before"]] == [False] * MESSAGES
    # ...with it, everything decrypts.
    assert [(e["decrypted"], e["body"]) for e in restored["after"]] == [
        (True, sent["body"]) for sent in first["sent"]
    ]
    assert restored["restored"]["imported"] >= 1
    assert restored["backup_version"] == version
    assert restored["active_backup_version"] == version
    assert restored["backup_trust"] == {"trusted": True, "matchesDecryptionKey": True}
    # The cross-signing keys came from secret storage; the new device signed itself.
    assert restored["cross_signing_ready"] is True
    assert restored["device_verification"]["crossSigningVerified"] is True
    keys = _keys_query(chatly, account)
    ssk_id, ssk_public = _the_key(keys["self_signing_keys"][account.user_id])
    device = keys["device_keys"][account.user_id][restored["device_id"]]
    _assert_signed(device, account.user_id, ssk_id, ssk_public)


# --- js-sdk and matrix-nio in one encrypted room ------------------------------

JS_SAYS = "hello from matrix-js-sdk"
NIO_SAYS = "and hello back from matrix-nio"


@pytest.mark.parametrize("sync", ["sync", "sliding"])
def test_encrypted_exchange_with_matrix_nio(
    chatly: RunningServer, peer: JsPeer, tmp_path: Path, sync: str
) -> None:
    """With ``sliding``, the SDK syncs with simplified sliding sync: the room
    key, the peer's device list and its own key counts reach its crypto
    through the to_device and e2ee extensions."""
    assert nio.crypto.ENCRYPTION_ENABLED, (
        "install matrix-nio[e2e] (the test extra does)"
    )
    alice = _account(chatly, "alice")
    bob = _account(chatly, "bob")
    js_result, nio_seen = asyncio.run(
        _exchange(chatly, peer, alice, bob, tmp_path, sliding=sync == "sliding")
    )
    assert js_result["sliding"] is (sync == "sliding")

    # nio decrypted the js-sdk's message (megolm keys came over olm to-device).
    assert nio_seen.body == JS_SAYS
    assert nio_seen.decrypted
    # The js-sdk decrypted nio's reply.
    received = js_result["received"]
    assert received["sender"] == bob.user_id
    assert (received["encrypted"], received["decrypted"]) == (True, True)
    assert received["body"] == NIO_SAYS


async def _exchange(
    server: RunningServer,
    peer: JsPeer,
    alice: Account,
    bob: Account,
    store: Path,
    sliding: bool,
) -> tuple[JsonDict, nio.RoomMessageText]:
    """alice (js-sdk) invites bob (nio) to an encrypted room and says hello; bob
    joins, decrypts it and answers; alice's script ends when it decrypts that."""
    async with encrypting_client(
        server.url, bob.user_id, bob.password, store
    ) as client:
        first = await client.sync(timeout=0, full_state=True)
        assert isinstance(first, nio.SyncResponse), first

        script = await peer.start(
            "chat.mjs",
            alice,
            peer=bob.user_id,
            say=JS_SAYS,
            expect=NIO_SAYS,
            sliding=sliding,
        )
        seen = await _nio_side(client, alice.user_id, lambda: script.finished)
        return await script.result(), seen


async def _nio_side(
    client: nio.AsyncClient, alice: str, js_finished: Callable[[], bool]
) -> nio.RoomMessageText:
    """bob's loop: join on invite, answer alice's decrypted message, until the
    js-sdk script ends (or the deadline passes)."""
    deadline = time.monotonic() + NIO_DEADLINE
    seen: nio.RoomMessageText | None = None
    decrypting = Decrypting(client)
    while time.monotonic() < deadline and not js_finished():
        response = await client.sync(timeout=500)
        assert isinstance(response, nio.SyncResponse), response
        for room_id in response.rooms.invite:
            joined = await client.join(room_id)
            assert isinstance(joined, nio.JoinResponse), joined
        found = decrypting.text_from(response, alice)
        if seen is None and found is not None:
            room_id, seen = found
            await send_encrypted_text(client, room_id, NIO_SAYS)
    assert seen is not None, "matrix-nio never decrypted the js-sdk's message"
    return seen
