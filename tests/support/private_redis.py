"""A Redis of a test's own, for tests that restart Redis.

The machine's Redis (tests/support/redis_keys.py) is shared and must never be
stopped; a fault test runs ``redis-server`` on a free loopback port in its own
directory instead, with no persistence: a restart loses every stream entry,
the worst case for replication (processes must resync from PostgreSQL).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ports import free_port
from tests.support.installs import installed_or_skip

START_TIMEOUT = 20.0


class PrivateRedis:
    """One ``redis-server`` process; ``restart()`` keeps its port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it answers PING.

        Raises:
            RuntimeError: redis-server is missing or did not come up.
        """
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115
        with log:
            self._process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.directory),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        """Kill it (SIGKILL: nothing is saved) and reap it."""
        if self._process is None:
            return
        self._process.kill()
        self._process.wait(timeout=15)
        self._process = None

    def restart(self, down_for: float = 0.0) -> None:
        """Stop, stay down ``down_for`` seconds, start again on the same port."""
        self.stop()
        time.sleep(down_for)
        self.start()


@contextmanager
def running_private_redis(directory: Path) -> Iterator[PrivateRedis]:
    """A started ``PrivateRedis`` in ``directory``, stopped afterwards (the
    test is skipped when redis-server is missing, and fails under CI)."""
    server = PrivateRedis(directory)
    installed_or_skip("a private redis-server", server.start)
    try:
        yield server
    finally:
        server.stop()
