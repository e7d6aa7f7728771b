"""Binding an address on an identity server with matrix-js-sdk (Node 22)
against a server started by synctl: the SDK's requestEmailToken and the
identity server's submitToken, bindThreePid, another user's inviteByEmail
(an ordinary invite while bound), unbindThreePid (the homeserver's signed
3pid/unbind), and the same invite as a third-party invite afterwards.

The identity server is the test one (tests/support/identity_server.py) on a
reactor of its own thread; it learns the homeserver's key from the server's
key API, as a real identity server does.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from signedjson.key import decode_verify_key_bytes
from twisted.internet.selectreactor import SelectReactor
from unpaddedbase64 import decode_base64

from tests.e2e.conftest import RunningServer, synctl_server
from tests.e2e.js_peer import JsPeer, JsSdk, ensure_js_sdk, register
from tests.support.identity_server import ACCESS_TOKEN, IdentityServer
from tests.support.installs import installed_or_skip

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("js_sdk"),
    pytest.mark.timeout(600),
]

ADDRESS = "js-bound@example.org"
# How long the identity server's code may take to exist (a wait, not an
# assertion on timing: the test fails only when it never comes).
CODE_DEADLINE_S = 60.0


@pytest.fixture(scope="module")
def js_sdk() -> JsSdk:
    return installed_or_skip("Node 22 and matrix-js-sdk", ensure_js_sdk)


@pytest.fixture(scope="module")
def identity() -> Iterator[IdentityServer]:
    reactor = SelectReactor()
    server = IdentityServer(reactor)
    thread = threading.Thread(
        target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True
    )
    thread.start()
    yield server
    reactor.callFromThread(server.stop)
    reactor.callFromThread(reactor.stop)
    thread.join()


@pytest.fixture(scope="module")
def chatly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("js-bind") / "data"
    settings = {
        "rate_limiting.enabled": "false",
        "identity_server.scheme": "http",
        "identity_server.ip_range_whitelist": "['127.0.0.0/8']",
    }
    with synctl_server(data_dir, settings) as server:
        yield server


def _trust_server_keys(identity: IdentityServer, chatly: RunningServer) -> None:
    """What a real identity server does: the homeserver's keys from its key
    API."""
    with urllib.request.urlopen(f"{chatly.url}/_matrix/key/v2/server") as answer:
        keys = json.load(answer)
    for key_id, key in keys["verify_keys"].items():
        algorithm, version = key_id.split(":", 1)
        verify_key = decode_verify_key_bytes(key_id, decode_base64(key["key"]))
        assert (verify_key.alg, verify_key.version) == (algorithm, version)
        identity.trust(keys["server_name"], verify_key)


async def _wait_for_code(identity: IdentityServer) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CODE_DEADLINE_S
    while ADDRESS not in identity.tokens:
        assert loop.time() < deadline, "the identity server never made a code"
        await asyncio.sleep(0.1)
    return identity.tokens[ADDRESS]


def test_bind_invite_unbind(
    js_sdk: JsSdk,
    chatly: RunningServer,
    identity: IdentityServer,
    tmp_path: Path,
) -> None:
    _trust_server_keys(identity, chatly)
    suffix = secrets.token_hex(3)
    bob = register(chatly.url, f"bob-{suffix}", f"bob {suffix} password")
    alice = register(chatly.url, f"alice-{suffix}", f"alice {suffix} password")
    peer = JsPeer(
        js_sdk, tmp_path / "work", chatly.url, chatly.data_dir / "homeserver.log"
    )
    codes = tmp_path / "codes"
    codes.mkdir()

    async def go() -> dict[str, object]:
        running = await peer.start(
            "bind.mjs",
            bob,
            email=ADDRESS,
            code_dir=str(codes),
            identity_server=f"http://{identity.name}",
            identity_token=ACCESS_TOKEN,
            inviter=alice.user_id,
            inviter_password=alice.password,
        )
        (codes / "bind").write_text(await _wait_for_code(identity))
        return await running.result()

    result = asyncio.run(go())
    assert result["submitted"] == {"success": True}
    assert result["bound"] == {}
    assert result["first_membership"] == "invite"
    assert result["unbound"] == {"id_server_unbind_result": "success"}
    assert identity.unbinds == [
        {"mxid": bob.user_id, "threepid": {"medium": "email", "address": ADDRESS}}
    ]
    assert result["second_membership"] is None
    assert result["third_party_invites"] == ["js-...@exa..."]
