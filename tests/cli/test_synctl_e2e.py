"""End to end: the real ``synctl`` script driving the real server over loopback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ports import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def synctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "synctl"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data dir whose server is always stopped afterwards, whatever happened."""
    data = tmp_path / "data"
    try:
        yield data
    finally:
        synctl("stop", "--data-dir", str(data), "--timeout", "10")
        pid_file = data / "homeserver.pid"
        if pid_file.exists():  # stop failed: do not leak a server
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_init_start_register_stop(data_dir: Path) -> None:
    d = str(data_dir)
    port = free_port()
    init = synctl(
        "init", "--data-dir", d, "--server-name", "e2e.test", "--http-port", str(port)
    )
    assert init.returncode == 0, init.stderr

    start = synctl("start", "--data-dir", d)
    assert start.returncode == 0, start.stdout + start.stderr
    assert f"Chatly is running at http://127.0.0.1:{port}/" in start.stdout

    url = f"http://127.0.0.1:{port}/_matrix/client/versions"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert "versions" in json.load(response)

    status = synctl("status", "--data-dir", d)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "answers" in status.stdout

    register = synctl(
        "register-user", "--data-dir", d, "alice", "correct-horse-9", "--admin"
    )
    assert register.returncode == 0, register.stdout + register.stderr
    assert "Registered @alice:e2e.test" in register.stdout

    again = synctl("register-user", "--data-dir", d, "alice", "another-pass-9")
    assert again.returncode == 1
    assert "M_USER_IN_USE" in again.stderr
    assert "Traceback" not in again.stderr

    stop = synctl("stop", "--data-dir", d)
    assert stop.returncode == 0, stop.stderr
    assert "Chatly stopped" in stop.stdout
    assert not (data_dir / "homeserver.pid").exists()

    status = synctl("status", "--data-dir", d)
    assert status.returncode == 3
    assert "stopped" in status.stdout
