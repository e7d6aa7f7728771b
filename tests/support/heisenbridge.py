"""heisenbridge, the IRC bridge from PyPI, run unchanged as a subprocess.

It gets its own cached virtualenv (tests/support/venvs.py): its pins (mautrix,
aiohttp, irc) are its own business, not the test suite's. ``Heisenbridge``
generates a registration with the bridge's own ``--generate``, writes it where
the homeserver's config can list it, and runs ``python -m heisenbridge`` against
a homeserver URL with its output in a log file for failed tests to show.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from tests.ports import free_port
from tests.support.venvs import ensure_venv

HEISENBRIDGE_VERSION = "1.15.4"
STOP_TIMEOUT = 30.0
START_TIMEOUT = 120.0
# What heisenbridge prints once it has loaded its rooms from the homeserver and
# scheduled its IRC connections ("Init done with N networks connecting, ...").
READY_LINE = "bridge is now running"


def ensure_heisenbridge(version: str = HEISENBRIDGE_VERSION) -> Path:
    """The python of a cached virtualenv with heisenbridge==``version``.

    Raises:
        RuntimeError: the virtualenv or the install failed (with pip's output).
    """
    return ensure_venv(
        "heisenbridge", version, f"heisenbridge=={version}", "import heisenbridge"
    )


class Heisenbridge:
    """One heisenbridge process listening for transactions on a loopback port."""

    def __init__(self, python: Path, directory: Path) -> None:
        self.python = python
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.registration_path = directory / "heisenbridge.yaml"
        self.log_path = directory / "heisenbridge.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log_start = 0
        self._generate()

    def _generate(self) -> None:
        """``heisenbridge --generate``: the registration, as an admin makes it."""
        result = subprocess.run(
            [
                str(self.python),
                "-m",
                "heisenbridge",
                "-c",
                str(self.registration_path),
                "--generate",
                "--listen-address",
                "127.0.0.1",
                "--listen-port",
                str(self.port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"heisenbridge --generate exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )

    @property
    def registration(self) -> dict[str, Any]:
        """The generated registration (id, url, tokens, namespaces)."""
        loaded: dict[str, Any] = yaml.safe_load(self.registration_path.read_text())
        return loaded

    def bot_user_id(self, server_name: str) -> str:
        """The bridge's control bot, ``@<sender_localpart>:server``."""
        return f"@{self.registration['sender_localpart']}:{server_name}"

    def start(self, homeserver_url: str) -> None:
        """Run the bridge (debug logging) against ``homeserver_url`` and wait
        until it has loaded its rooms from the homeserver (``READY_LINE``)
        and listens for transactions.

        Raises:
            RuntimeError: it exited or was not ready in time (with its output).
        """
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [
                    str(self.python),
                    "-m",
                    "heisenbridge",
                    "-v",
                    "-v",
                    "-c",
                    str(self.registration_path),
                    homeserver_url,
                ],
                cwd=self.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while READY_LINE not in self.since_start() or not self._listening():
            if not self.running() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"heisenbridge did not start:\n{self.logs()}\n"
                    f"its own lines since this start:\n{self.digest()}"
                )
            time.sleep(0.2)

    def since_start(self) -> str:
        """The bridge's output since the last ``start()``."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_start)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def digest(self, lines: int = 40) -> str:
        """The lines of the output since the last ``start()`` that are not
        request or IRC traffic: its own prints, warnings, errors and
        tracebacks, for a failure's message."""
        kept = [
            line
            for line in self.since_start().splitlines()
            if not line.startswith(("DEBUG:", "INFO:aiohttp.access"))
        ]
        return "\n".join(kept[-lines:])

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)

    def logs(self, lines: int = 150) -> str:
        """The end of the bridge's output."""
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return f"--- {self.log_path}: (missing)"
        return f"--- {self.log_path} (last {len(text)} lines)\n" + "\n".join(text)
