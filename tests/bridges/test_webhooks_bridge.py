"""The webhooks bridge process against a recording homeserver stand-in
(tests/bridges/stub_homeserver.py) and a local webhook receiver. The same
through a real Chatly server: test_webhooks_e2e.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bridges.processes import BridgeProcess, run_cli, running_bridge
from tests.bridges.stub_homeserver import StubHomeserver, message, put_transaction
from tests.support.webhook_receiver import WebhookReceiver

ROOM = "!hooked:test"
MODULE = "chatly_webhooks_bridge"
SECRET = "outgoing-secret"


def post_hook(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def stub() -> Iterator[StubHomeserver]:
    with StubHomeserver().running() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(statuses=[503]).running() as server:
        yield server


@pytest.fixture
def bridge(
    tmp_path: Path, stub: StubHomeserver, receiver: WebhookReceiver
) -> Iterator[BridgeProcess]:
    settings = {
        "homeserver": {"url": stub.url, "server_name": "test"},
        "outgoing": [{"room": ROOM, "url": receiver.url, "secret": SECRET}],
    }
    with running_bridge(MODULE, tmp_path / "webhooks", settings) as process:
        yield process


def new_hook(bridge: BridgeProcess, room_id: str = ROOM) -> str:
    result = run_cli(MODULE, bridge.directory / "config.yaml", "create-hook", room_id)
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith(f"{bridge.url}/hooks/")
    return url


def test_incoming_hook_posts_into_the_room(
    bridge: BridgeProcess, stub: StubHomeserver
) -> None:
    url = new_hook(bridge)
    status, body = post_hook(url, {"text": "build passed", "username": "CI"})
    assert status == 200 and body["event_id"].startswith("$")
    puppet = "@webhook_ci:test"
    name = stub.wait_for(lambda c: c.path.endswith(f"/profile/{puppet}/displayname"))
    assert name.body == {"displayname": "CI"}
    sent = stub.wait_for_send(ROOM, puppet, "m.text")
    assert sent.body == {"msgtype": "m.text", "body": "build passed"}

    status, _ = post_hook(
        url, {"text": "*bold*", "html": "<b>bold</b>", "msgtype": "m.notice"}
    )
    assert status == 200
    sent = stub.wait_for_send(ROOM, None, "m.notice")  # no username: the bot
    assert sent.body == {
        "msgtype": "m.notice",
        "body": "*bold*",
        "format": "org.matrix.custom.html",
        "formatted_body": "<b>bold</b>",
    }


def test_wrong_token_or_bad_body_posts_nothing(
    bridge: BridgeProcess, stub: StubHomeserver
) -> None:
    url = new_hook(bridge)
    status, body = post_hook(url + "x", {"text": "forged"})
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    assert post_hook(f"{bridge.url}/hooks/", {"text": "forged"})[0] == 403
    assert post_hook(url, b"not json")[0] == 400
    assert post_hook(url, {"username": "no text"})[0] == 400
    assert post_hook(url, {"text": "x", "msgtype": "m.image"})[0] == 400
    assert post_hook(url, {"text": "the real one"})[0] == 200
    sends = [c for c in stub.calls if "/send/" in c.path]
    assert [c.body["body"] for c in sends] == ["the real one"]
    # A revoked hook stops working.
    result = run_cli(MODULE, bridge.directory / "config.yaml", "revoke-hook", url)
    assert result.returncode == 0, result.stderr
    assert post_hook(url, {"text": "after revoke"})[0] == 403


def test_bot_command_creates_a_hook(
    bridge: BridgeProcess, stub: StubHomeserver
) -> None:
    token = bridge.registration["hs_token"]
    put_transaction(
        bridge.url, token, "c1", [message(ROOM, "@someone:test", "!webhook new")]
    )
    refused = stub.wait_for_send(ROOM, None, "m.notice")
    assert "moderators" in refused.body["body"]
    put_transaction(
        bridge.url, token, "c2", [message(ROOM, "@admin:test", "!webhook new")]
    )
    reply = stub.wait_for_send(ROOM, None, "m.notice")
    url = re.search(r"http://\S+/hooks/\S+", reply.body["body"])
    assert url is not None
    assert post_hook(url.group(), {"text": "via command"})[0] == 200
    assert stub.wait_for_send(ROOM, None, "m.text").body["body"] == "via command"


def test_outgoing_hook_signs_and_retries(
    bridge: BridgeProcess, receiver: WebhookReceiver
) -> None:
    token = bridge.registration["hs_token"]
    events = [
        message(ROOM, "@alice:test", "first"),
        message(ROOM, "@webhook_ci:test", "a puppet's message is not sent"),
        message("!other:test", "@alice:test", "another room is not sent"),
        message(ROOM, "@alice:test", "second"),
    ]
    put_transaction(bridge.url, token, "o1", events)
    # The receiver answers 503 once: the first message is delivered twice.
    deliveries = receiver.wait_for_count(3)
    assert [d.status for d in deliveries] == [503, 200, 200]
    bodies = [json.loads(d.body) for d in deliveries]
    assert [b["content"]["body"] for b in bodies] == ["first", "first", "second"]
    assert bodies[0]["room_id"] == ROOM and bodies[0]["sender"] == "@alice:test"
    for delivery in deliveries:
        expected = hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
        assert delivery.headers["X-Chatly-Signature"] == f"sha256={expected}"


def test_homeserver_errors_are_retried_with_the_same_txn(
    bridge: BridgeProcess, stub: StubHomeserver
) -> None:
    url = new_hook(bridge)
    stub.fail_next = [503]
    assert post_hook(url, {"text": "retried"})[0] == 200
    sends = [c for c in stub.calls if "/send/" in c.path]
    assert len(sends) == 2 and sends[0].path == sends[1].path
