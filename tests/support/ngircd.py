"""A real IRC server for bridge tests: Debian's ngircd, started per test.

``ensure_ngircd()`` installs it with ``apt-get install -y ngircd`` when
/usr/sbin/ngircd is missing (under a lock, as tests/e2e/web_client.py does for
Chromium). ``running_ngircd()`` writes a minimal configuration on a free
loopback port in a directory of the test's own, runs ``ngircd -n -f CONF`` in
the foreground, waits for the port and kills the process at the end; its
``restart()`` stops and starts it again on the same port (for reconnect tests).

The ``ngircd`` fixture fails under CI=true when ngircd cannot be installed and
skips otherwise. Other suites (third-party bridges) reuse it:
``from tests.support.ngircd import ngircd  # noqa: F401``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.support.debian import ensure_debian_binary

NGIRCD = Path("/usr/sbin/ngircd")
SERVER_NAME = "irc.chatly.test"
START_TIMEOUT = 30.0

_CONFIG = """\
[Global]
    Name = {name}
    Info = Chatly test IRC server
    Listen = 127.0.0.1
    Ports = {port}
    MotdPhrase = "Chatly test server"
    PidFile = {dir}/ngircd.pid
    HelpFile = {dir}/help.txt

[Limits]
    MaxConnectionsIP = 0
    MaxNickLength = 30
    PingTimeout = 120
    PongTimeout = 60
    ConnectRetry = 60

[Options]
    DNS = no
    Ident = no
    PAM = no
    SyslogFacility = local7
    OperCanUseMode = yes
"""


def ensure_ngircd() -> Path:
    """Debian's ngircd; ``apt-get install -y ngircd`` if it is missing.

    Raises:
        RuntimeError: the install failed (with apt's output).
    """
    return ensure_debian_binary(NGIRCD, "ngircd")


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ngircd exited {process.returncode} at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"ngircd did not listen on 127.0.0.1:{port}")


class NgircdServer:
    """One ngircd process (``host``, ``port``), restartable on the same port."""

    host = "127.0.0.1"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.name = SERVER_NAME
        self.config_path = directory / "ngircd.conf"
        (directory / "help.txt").write_text("")
        self.config_path.write_text(
            _CONFIG.format(name=self.name, port=self.port, dir=directory)
        )
        self.log_path = directory / "ngircd.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start ngircd in the foreground and wait until it accepts connections."""
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [str(ensure_ngircd()), "-n", "-f", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        _wait_for_port(self.port, self._process)

    def stop(self) -> None:
        """Kill the process (every client connection drops) and reap it."""
        if self._process is None:
            return
        self._process.kill()
        self._process.wait(timeout=30)
        self._process = None

    def restart(self) -> None:
        """Stop, then start again on the same port."""
        self.stop()
        self.start()


@contextmanager
def running_ngircd(directory: Path) -> Iterator[NgircdServer]:
    """An ngircd of its own in ``directory``, killed when the block ends."""
    directory.mkdir(parents=True, exist_ok=True)
    server = NgircdServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ngircd(tmp_path: Path) -> Iterator[NgircdServer]:
    """A running ngircd for this test (fails under CI=true if not installable)."""
    try:
        ensure_ngircd()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"ngircd is required under CI=true: {exc}")
        pytest.skip(f"ngircd is not available: {exc}")
    with running_ngircd(tmp_path / "ngircd") as server:
        yield server
