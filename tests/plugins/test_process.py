"""The sample plugin in a real server process started with synctl: it loads
from its entry point and refuses an event over real HTTP; a plugin with a
misspelt hook makes ``synctl start`` fail and name it."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import synctl, synctl_server
from tests.plugins.conftest import install_sample_dist

ROOT = Path(__file__).resolve().parents[2]


def _call(url: str, method: str, body: Any, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, json.dumps(body).encode(), headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample distribution in a site directory the server process sees."""
    site = tmp_path / "site"
    site.mkdir()
    install_sample_dist(site)
    paths = [str(ROOT), str(site), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    return site


def test_plugin_in_a_real_server(plugin_path: Path, tmp_path: Path) -> None:
    settings = {"plugins.load": '[{"name": "sample"}]'}
    with synctl_server(tmp_path / "data", settings) as server:
        url = server.url + "/_matrix/client/v3"
        status, body = _call(f"{url}/register", "POST", {"username": "mallory"})
        assert (status, body["error"]) == (403, "Not you, Mallory")
        reg = {"username": "alice", "password": "pw-alice-1"}
        status, body = _call(f"{url}/register", "POST", reg)
        reg["auth"] = {"type": "m.login.dummy", "session": body["session"]}
        status, body = _call(f"{url}/register", "POST", reg)
        assert status == 200, body
        token = body["access_token"]
        status, body = _call(f"{url}/createRoom", "POST", {}, token)
        room = body["room_id"]
        send = f"{url}/rooms/{room}/send/m.room.message"
        status, body = _call(f"{send}/1", "PUT", {"body": "spam!"}, token)
        assert (status, body["errcode"]) == (403, "ORG_EXAMPLE_SPAM")
        status, body = _call(f"{send}/2", "PUT", {"body": "hello"}, token)
        assert status == 200, body


def test_synctl_start_fails_naming_the_plugin(
    plugin_path: Path, tmp_path: Path
) -> None:
    (plugin_path / "typo_plugin.py").write_text(
        "class Plugin:\n"
        "    def __init__(self, api, config):\n"
        "        pass\n"
        "    def chatly_on_new_evnt(self, event):\n"
        "        pass\n"
    )
    data = str(tmp_path / "data")
    synctl("init", "--data-dir", data, "--server-name", "localhost")
    value = '[{"name": "typo", "module": "typo_plugin"}]'
    synctl("config", "set", "--data-dir", data, "plugins.load", value)
    result = synctl("start", "--data-dir", data, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "plugins.load.typo" in output and "chatly_on_new_evnt" in output
