"""Queue durability with real processes, as an operator runs them: a Chatly
server started with ``synctl`` and a registration file in its config, a real
HTTP server as the AS. The AS is down while events arrive; our server is
stopped and started again; when the AS comes back it gets every event once,
in order."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from tests.e2e.conftest import RunningServer, synctl, synctl_server
from tests.e2e.synadm import http, registered
from tests.ports import free_port

# A safety net for a broken test, never an assertion about timing.
SAFETY_NET_S = 90.0
API = "/_matrix/client/v3"


class RecordingAs:
    """A stdlib HTTP server recording the transactions it acknowledges."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.transactions: list[tuple[str, dict[str, Any]]] = []
        self.authorizations: set[str] = set()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with owner._lock:
                    owner.transactions.append((self.path, body))
                    owner.authorizations.add(self.headers.get("Authorization", ""))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None

    def messages(self) -> list[str]:
        """Message bodies of the distinct transactions, in order."""
        with self._lock:
            seen: dict[str, dict[str, Any]] = {}
            for path, body in self.transactions:
                seen.setdefault(path, body)
        return [
            e["content"]["body"]
            for body in seen.values()
            for e in body.get("events", [])
            if e["type"] == "m.room.message"
        ]


def _wait(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SAFETY_NET_S
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def _call(
    server: RunningServer, method: str, path: str, token: str, body: Any = None
) -> Any:
    code, raw = http(server, method, path, body, token=token)
    assert code == 200, (code, raw)
    return json.loads(raw)


def test_as_down_and_server_restarted_loses_and_repeats_nothing(tmp_path: Path) -> None:
    fake = RecordingAs(free_port())
    fake.start()
    registration = tmp_path / "bridge.yaml"
    registration.write_text(
        yaml.safe_dump(
            {
                "id": "bridge",
                "url": f"http://127.0.0.1:{fake.port}",
                "as_token": "as-secret-process",
                "hs_token": "hs-secret-process",
                "sender_localpart": "bridgebot",
                "namespaces": {
                    "users": [{"regex": "@irc_.*:localhost", "exclusive": False}]
                },
            }
        )
    )
    settings = {
        "appservice.config_files": json.dumps([str(registration)]),
        "appservice.max_retry_interval": "2s",
        "rate_limiting.enabled": "false",
    }
    data = tmp_path / "data"
    with synctl_server(data, settings) as server:
        admin = registered(server, "root", admin=True)
        alice = registered(server, "alice")
        irc = registered(server, "irc_ivy")
        room = _call(server, "POST", f"{API}/createRoom", alice, {})["room_id"]
        room_path = f"{API}/rooms/{quote(room)}"
        _call(
            server,
            "POST",
            f"{room_path}/invite",
            alice,
            {"user_id": "@irc_ivy:localhost"},
        )
        _call(server, "POST", f"{room_path}/join", irc, {})

        def send(body: str) -> None:
            txn = quote(body)
            path = f"{room_path}/send/m.room.message/{txn}"
            _call(server, "PUT", path, alice, {"msgtype": "m.text", "body": body})

        send("before")
        _wait(lambda: fake.messages() == ["before"])
        fake.stop()
        for i in range(3):
            send(f"down {i}")

        def failing() -> bool:
            queue = _call(server, "GET", "/_chatly/admin/v1/appservices/bridge", admin)
            return queue["failure_ts"] is not None and queue["pending"] >= 3

        _wait(failing)
        synctl("stop", "--data-dir", str(data))
        synctl("start", "--data-dir", str(data))
        send("after restart")
        fake.start()
        expected = ["before", "down 0", "down 1", "down 2", "after restart"]
        _wait(lambda: fake.messages() == expected)
        _wait(
            lambda: (
                _call(server, "GET", "/_chatly/admin/v1/appservices/bridge", admin)[
                    "pending"
                ]
                == 0
            )
        )
    fake.stop()
    assert fake.messages() == expected
    assert fake.authorizations == {"Bearer hs-secret-process"}
    # A txnId carried the same body every time it was sent.
    bodies: dict[str, str] = {}
    for path, body in fake.transactions:
        assert bodies.setdefault(path, json.dumps(body, sort_keys=True)) == json.dumps(
            body, sort_keys=True
        )
