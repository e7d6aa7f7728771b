"""Debian's nginx, run by a test with a config ``synctl workers generate`` wrote.

``ensure_nginx()`` installs it with ``apt-get install -y nginx`` when
/usr/sbin/nginx is missing (under a lock, tests/support/debian.py).
``Nginx(config, runtime_dir, port)`` runs ``nginx -c CONFIG -p RUNTIME_DIR``
in the foreground and waits for the port; ``stop()`` ends it. Run as root,
nginx's workers keep root's user so they can reach the test's private
directories (a real deployment runs them as www-data).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from tests.support.debian import ensure_debian_binary

NGINX = Path("/usr/sbin/nginx")
START_TIMEOUT = 30.0


def ensure_nginx() -> Path:
    """Debian's nginx; ``apt-get install -y nginx`` if it is missing."""
    return ensure_debian_binary(NGINX, "nginx")


def check_config(config: Path, runtime_dir: Path) -> str:
    """``nginx -t`` on ``config``; its output.

    Raises:
        AssertionError: nginx rejects the config.
    """
    runtime_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(ensure_nginx()), "-t", "-c", str(config), "-p", str(runtime_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


class Nginx:
    """One nginx master process listening on ``port``."""

    def __init__(self, config: Path, runtime_dir: Path, port: int) -> None:
        self.config = config
        self.runtime_dir = runtime_dir
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start nginx and wait until it accepts connections."""
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        directives = "daemon off; master_process on;"
        if os.geteuid() == 0:
            directives += " user root root;"
        log = open(self.runtime_dir / "nginx.stderr.log", "ab")  # noqa: SIM115
        with log:
            self._process = subprocess.Popen(
                [
                    str(ensure_nginx()),
                    "-c",
                    str(self.config),
                    "-p",
                    str(self.runtime_dir),
                    "-g",
                    directives,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"nginx exited {self._process.returncode}: "
                    + (self.runtime_dir / "nginx.stderr.log").read_text()[-2000:]
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        """Stop nginx (SIGTERM: fast shutdown) and reap it."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=15)
        self._process = None
