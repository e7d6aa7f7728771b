"""A plugin that raises or hangs leaves the server answering; its failures
are counted per plugin and hook in /metrics."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from tests.plugins.conftest import plugins_config
from tests.support import bodies
from tests.support.server import TestServer

RAISING = {"name": "raising", "module": "tests.plugins.misbehaving:Raising"}
HANGING = {"name": "hanging", "module": "tests.plugins.misbehaving:Hanging"}


def _errors(server: TestServer, plugin: str, hook: str, reason: str) -> float:
    text = server.request("GET", "/metrics").body.decode()
    pattern = (
        r"^homeserver_plugin_hook_errors_total\{"
        rf'hook="{hook}",plugin="{plugin}",reason="{reason}"\}} (\S+)$'
    )
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_raising_plugin_leaves_the_server_answering(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server(plugins_config(RAISING))
    before = _errors(server, "raising", "chatly_check_event", "error")
    bot_before = _errors(server, "raising", "chatly_on_new_event", "error")
    alice = server.user("alice")
    room = alice.create_room()
    # The check fails open: the message is sent.
    alice.send(room, "still works")
    assert "still works" in bodies(alice.timeline(room))
    assert _errors(server, "raising", "chatly_check_event", "error") == before + 1
    assert _errors(server, "raising", "chatly_on_new_event", "error") > bot_before
    # Registration too.
    body = {"username": "bob", "password": "pw-bob-1"}
    resp = server.request("POST", "/_matrix/client/v3/register", body)
    assert resp.code == 401 and "flows" in resp.json


def test_hanging_plugin_is_timed_out(make_server: Callable[..., TestServer]) -> None:
    server = make_server(plugins_config(HANGING, timeout="2s"))
    before = _errors(server, "hanging", "chatly_check_event", "timeout")
    alice = server.user("alice")
    room = alice.create_room()
    body = json.dumps({"msgtype": "m.text", "body": "patience"}).encode()
    head = (
        f"PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/t1 HTTP/1.1\r\n"
        f"Host: localhost\r\nContent-Length: {len(body)}\r\n"
        f"Authorization: Bearer {alice.token}\r\n\r\n"
    )
    pending = server.start_raw_request(head.encode() + body)
    assert not pending.done
    # Meanwhile other requests are answered.
    whoami = alice.get("/account/whoami")
    assert whoami.code == 200
    server.advance(2)
    assert pending.done
    resp = pending.response()
    assert resp.code == 200, resp.json
    hung = server.hs.plugins.objects["hanging"]
    assert len(hung.waiting) == 1 and hung.waiting[0].called  # cancelled
    assert _errors(server, "hanging", "chatly_check_event", "timeout") == before + 1
    assert "patience" in bodies(alice.timeline(room))
