"""A harness for driving a running server with synadm (from PyPI), the
Synapse admin CLI, as an admin would: a config file written
non-interactively, then each command run as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from tests.e2e.conftest import RunningServer, synctl


def http(
    server: RunningServer,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    content_type: str = "application/json",
) -> tuple[int, bytes]:
    """One request to the server; its status and body (errors included)."""
    data = (
        body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    )
    request = urllib.request.Request(server.url + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def registered(server: RunningServer, localpart: str, admin: bool = False) -> str:
    """Register ``localpart`` with ``synctl register-user``; an access token."""
    password = f"{localpart} long password 9"
    args = ["register-user", "--data-dir", str(server.data_dir), localpart, password]
    synctl(*args, *(["--admin"] if admin else []))
    code, body = http(
        server,
        "POST",
        "/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": password,
        },
    )
    assert code == 200, body
    return str(json.loads(body)["access_token"])


def last_json(output: str) -> Any:
    """The last JSON document of a synadm command that printed several (and
    some text between them)."""
    decoder = json.JSONDecoder()
    found, pos = None, 0
    while (start := output.find("{", pos)) != -1:
        try:
            found, pos = decoder.raw_decode(output, start)
        except json.JSONDecodeError:
            pos = start + 1
    return found


class Synadm:
    """synadm configured for ``server`` with an admin's token, its config and
    debug log kept under ``home``."""

    def __init__(self, server: RunningServer, token: str, home: Path) -> None:
        self.home = home
        self.config = home / "synadm.yaml"
        home.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            yaml.safe_dump(
                {
                    "user": "admin",
                    "token": token,
                    "protocol": "http",
                    "base_url": server.url,
                    "admin_path": "/_synapse/admin",
                    "matrix_path": "/_matrix",
                    "format": "json",
                    "timeout": 30,
                    "server_discovery": "well-known",
                    "homeserver": "localhost",
                    "ssl_verify": False,
                }
            )
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``synadm --batch -c <config> <args>``; fails on a non-zero exit."""
        env = {**os.environ, "HOME": str(self.home)}
        result = subprocess.run(
            [sys.executable, "-m", "synadm", "--batch", "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        """Run a command; its JSON output."""
        return json.loads(self.run(*args).stdout)


def client(
    server: RunningServer, method: str, path: str, token: str, body: Any = None
) -> Any:
    """A client-server API call (``path`` after /_matrix/client/v3) that
    must succeed; its JSON answer."""
    code, raw = http(server, method, "/_matrix/client/v3" + path, body, token)
    assert code == 200, raw
    return json.loads(raw)


def send_text(server: RunningServer, token: str, room: str, text: str) -> str:
    """Send a text message; its event ID."""
    body = {"msgtype": "m.text", "body": text}
    path = f"/rooms/{quote(room)}/send/m.room.message"
    return str(client(server, "POST", path, token, body)["event_id"])


def timeline_bodies(server: RunningServer, token: str, room: str) -> list[str]:
    """The bodies of the room's messages, newest first."""
    path = f"/rooms/{quote(room)}/messages?dir=b&limit=50"
    chunk = client(server, "GET", path, token)["chunk"]
    return [e["content"]["body"] for e in chunk if e["type"] == "m.room.message"]
