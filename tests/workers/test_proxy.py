"""The generated proxy configs, run for real: Debian's nginx, then Debian's
HAProxy, in front of stub backends that answer with their own name, so each
routing decision (role, stickiness per access token, WebSocket upgrade,
blocked internal paths) is observed through the proxy."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs
import pytest

from homeserver.workers.proxy_haproxy import render_haproxy
from homeserver.workers.proxy_nginx import render_nginx
from homeserver.workers.proxy_plan import ProxyPlan, build_plan
from tests.ports import free_port
from tests.support.debian import ensure_debian_binary
from tests.support.installs import installed_or_skip
from tests.support.nginx import Nginx, check_config, ensure_nginx
from tests.workers.instances import Instance

HAPROXY = Path("/usr/sbin/haproxy")
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455


class _Stub(BaseHTTPRequestHandler):
    """Answers every request with the backend's name; upgrades WebSockets to
    a line echo."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            key = self.headers["Sec-WebSocket-Key"] + _WS_GUID
            accept = base64.b64encode(hashlib.sha1(key.encode()).digest())
            self.send_header("Sec-WebSocket-Accept", accept.decode())
            self.end_headers()
            self.wfile.flush()
            line = self.rfile.readline()
            self.wfile.write(self.server.name.encode() + b" " + line)  # type: ignore[attr-defined]
            self.wfile.flush()
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps(
            {"name": self.server.name, "path": self.path}  # type: ignore[attr-defined]
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


class _StubServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # HAProxy's health checks connect and reset


def _stub(name: str) -> ThreadingHTTPServer:
    server = _StubServer(("127.0.0.1", free_port()), _Stub)
    server.name = name  # type: ignore[attr-defined]
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@attrs.frozen
class Proxied:
    """nginx in front of stubs."""

    base_url: str
    port: int


NAMES = {
    "reader1": "client_reader",
    "reader2": "client_reader",
    "persister1": "event_persister",
    "fedreader": "federation_reader",
    "media1": "media",
}


def _plan(stubs: dict[str, ThreadingHTTPServer]) -> ProxyPlan:
    instances = [
        Instance(name, NAMES[name], stubs[name].server_address[1]) for name in NAMES
    ]
    return build_plan(
        instances,
        main_port=stubs["main"].server_address[1],
        stream_writers={"typing": "reader2"},
    )


@pytest.fixture(scope="module")
def stubs() -> Iterator[dict[str, ThreadingHTTPServer]]:
    servers = {name: _stub(name) for name in ["main", *NAMES]}
    yield servers
    for server in servers.values():
        server.shutdown()
        server.server_close()


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"haproxy exited {process.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"haproxy did not listen on {port}")


@contextmanager
def _nginx(plan: ProxyPlan, directory: Path) -> Iterator[Proxied]:
    installed_or_skip("nginx", ensure_nginx)
    port = free_port()
    config = directory / "nginx.conf"
    config.write_text(
        render_nginx(
            plan, listen=[f"127.0.0.1:{port}"], runtime_dir=directory, source="test"
        )
    )
    check_config(config, directory)
    nginx = Nginx(config, directory, port)
    nginx.start()
    try:
        yield Proxied(nginx.base_url, port)
    finally:
        nginx.stop()


@contextmanager
def _haproxy(plan: ProxyPlan, directory: Path) -> Iterator[Proxied]:
    haproxy = installed_or_skip(
        "haproxy", lambda: ensure_debian_binary(HAPROXY, "haproxy")
    )
    port = free_port()
    config = directory / "haproxy.cfg"
    config.write_text(render_haproxy(plan, binds=[f"127.0.0.1:{port}"], source="t"))
    check = subprocess.run(
        [str(haproxy), "-c", "-f", str(config)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    process = subprocess.Popen(
        [str(haproxy), "-db", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, process)
        yield Proxied(f"http://127.0.0.1:{port}", port)
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture(scope="module", params=["nginx", "haproxy"])
def proxied(
    request: pytest.FixtureRequest,
    stubs: dict[str, ThreadingHTTPServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Proxied]:
    """nginx, then HAProxy, in front of the stubs with the generated config."""
    run = _nginx if request.param == "nginx" else _haproxy
    with run(_plan(stubs), tmp_path_factory.mktemp(request.param)) as proxy:
        yield proxy


def _call(
    proxied: Proxied, method: str, path: str, token: str | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(
        proxied.base_url + path,
        method=method,
        data=b"{}" if method in ("POST", "PUT") else None,
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


C = "/_matrix/client/v3"


@pytest.mark.parametrize(
    ("method", "path", "backends"),
    [
        ("GET", f"{C}/rooms/!r:hs/messages?dir=b", {"reader1", "reader2"}),
        ("POST", f"{C}/keys/query", {"reader1", "reader2"}),
        ("PUT", f"{C}/rooms/!r:hs/send/m.room.message/t1", {"main"}),
        ("POST", f"{C}/createRoom", {"main"}),
        ("PUT", f"{C}/rooms/!r:hs/typing/@a:hs", {"reader2"}),
        ("PUT", "/_matrix/federation/v1/send/1", {"fedreader"}),
        ("GET", "/_matrix/key/v2/server", {"fedreader"}),
        ("GET", "/_matrix/client/v1/media/download/hs/abc", {"media1"}),
        ("GET", "/_matrix/federation/v1/media/download/abc", {"media1"}),
        ("GET", "/_synapse/admin/v2/users/@a:hs", {"main"}),
    ],
)
def test_routes_by_role(
    proxied: Proxied, method: str, path: str, backends: set[str]
) -> None:
    status, body = _call(proxied, method, path, token="tok")
    assert status == 200
    assert body["name"] in backends
    assert body["path"] == path  # passed on unchanged, query string too


def test_sync_sticks_to_one_reader_per_token(proxied: Proxied) -> None:
    seen: dict[str, str] = {}
    for i in range(24):
        token = f"syt_user{i}_token"
        first = _call(proxied, "GET", f"{C}/sync?timeout=0", token=token)[1]["name"]
        assert first in ("reader1", "reader2")
        for _ in range(3):
            again = _call(proxied, "GET", f"{C}/sync?since=s1", token=token)
            assert again[1]["name"] == first
        by_query = _call(proxied, "GET", f"{C}/sync?access_token={token}")
        assert by_query[1]["name"] == first  # the query token hashes alike
        seen[token] = first
    assert set(seen.values()) == {"reader1", "reader2"}  # both readers get users


@pytest.mark.parametrize(
    "path", ["/_chatly/replication/status", "/metrics", "/_synapse/metrics"]
)
def test_never_routes_internal_paths(proxied: Proxied, path: str) -> None:
    status, body = _call(proxied, "GET", path)
    assert status == 404
    assert body["errcode"] == "M_UNRECOGNIZED"


def test_passes_websocket_upgrades(proxied: Proxied) -> None:
    with socket.create_connection(("127.0.0.1", proxied.port), timeout=10) as sock:
        sock.sendall(
            b"GET /_chatly/client/v1/ws HTTP/1.1\r\nHost: hs\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Authorization: Bearer syt_ws_token\r\n\r\n"
        )
        stream = sock.makefile("rb")
        assert stream.readline().startswith(b"HTTP/1.1 101")
        while stream.readline() not in (b"\r\n", b""):
            pass
        sock.sendall(b"hello\n")
        echoed = stream.readline()
    name = echoed.split()[0].decode()
    assert echoed.endswith(b" hello\n") and name in ("reader1", "reader2")
    # The same user's /sync lands on the same reader as the socket.
    assert _call(proxied, "GET", f"{C}/sync", token="syt_ws_token")[1]["name"] == name
