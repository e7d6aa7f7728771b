"""End to end: ``synctl appservice register`` on a server started with
``synctl start``, applied by the SIGHUP reload without a restart; clashing
registrations are refused by synctl and stop start-up."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.appservices.client_kit import registration
from tests.cli.test_synctl_e2e import synctl
from tests.ports import free_port

pytestmark = pytest.mark.integration

# A safety net for a broken test, never an assertion about timing.
SAFETY_NET_S = 60.0


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    try:
        yield data
    finally:
        synctl("stop", "--data-dir", str(data), "--timeout", "10")
        pid_file = data / "homeserver.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def whoami(port: int, token: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/_matrix/client/v3/account/whoami",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def wait_for(check: object) -> None:
    deadline = time.monotonic() + SAFETY_NET_S
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.1)


def write(path: Path, content: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(content))
    return path


def init(data_dir: Path, port: int) -> None:
    result = synctl(
        "init",
        "--data-dir",
        str(data_dir),
        "--server-name",
        "as.test",
        "--http-port",
        str(port),
    )
    assert result.returncode == 0, result.stderr


def test_register_and_reload_without_restart(data_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    d = str(data_dir)
    init(data_dir, port)
    start = synctl("start", "--data-dir", d)
    assert start.returncode == 0, start.stdout + start.stderr
    pid = (data_dir / "homeserver.pid").read_text()
    assert whoami(port, "as-token-irc")[0] == 401

    irc = write(tmp_path / "irc.yaml", registration(url="http://127.0.0.1:9/"))
    added = synctl("appservice", "register", "--data-dir", d, str(irc))
    assert added.returncode == 0, added.stdout + added.stderr
    assert "Registered application service 'irc'" in added.stdout
    assert "SIGHUP" in added.stdout
    wait_for(lambda: whoami(port, "as-token-irc")[0] == 200)
    assert whoami(port, "as-token-irc")[1]["user_id"] == "@irc_bot:as.test"
    listed = synctl("appservice", "list", "--data-dir", d)
    assert listed.stdout.startswith("irc\t@irc_bot:as.test")

    # A clashing registration is refused; nothing changes.
    before = (data_dir / "homeserver.yaml").read_text()
    clash = write(
        tmp_path / "other.yaml",
        registration(
            id="other",
            as_token="t2",
            hs_token="h2",
            sender_localpart="other_bot",
            users="@irc_x.*",
        ),
    )
    refused = synctl("appservice", "register", "--data-dir", d, str(clash))
    assert refused.returncode == 1
    assert "irc.yaml" in refused.stderr and "other.yaml" in refused.stderr
    assert (data_dir / "homeserver.yaml").read_text() == before

    # A changed registration (new token) is applied by a plain SIGHUP.
    write(irc, registration(as_token="rotated", url="http://127.0.0.1:9/"))
    os.kill(int(pid), signal.SIGHUP)
    wait_for(lambda: whoami(port, "rotated")[0] == 200)
    assert whoami(port, "as-token-irc")[0] == 401
    # A broken file on reload is refused: the last good set stays.
    irc.write_text("id: [broken")
    os.kill(int(pid), signal.SIGHUP)
    log = data_dir / "homeserver.log"
    wait_for(lambda: "reload refused" in log.read_text())
    assert whoami(port, "rotated")[0] == 200
    # Still the same process.
    assert (data_dir / "homeserver.pid").read_text() == pid


def test_clash_stops_start_up(data_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    d = str(data_dir)
    init(data_dir, port)
    one = write(data_dir / "one.yaml", registration())
    two = write(
        data_dir / "two.yaml",
        registration(
            id="two",
            as_token="t2",
            hs_token="h2",
            sender_localpart="two_bot",
            users="@irc_.*",
        ),
    )
    config = yaml.safe_load((data_dir / "homeserver.yaml").read_text())
    config["appservice"] = {"config_files": [one.name, two.name]}
    (data_dir / "homeserver.yaml").write_text(yaml.safe_dump(config))
    start = synctl("start", "--data-dir", d)
    assert start.returncode != 0
    output = start.stdout + start.stderr
    assert "one.yaml" in output and "two.yaml" in output and "clash" in output
