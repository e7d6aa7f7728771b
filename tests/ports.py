"""Free TCP ports for tests that start real servers, safe across parallel runs.

Asking the kernel for port 0 and closing the socket leaves a window in which
another xdist worker (or any client's outgoing connection) may be handed the
same port before our server binds it. Instead, ports come from a range below
the kernel's ephemeral range, and each one handed out is claimed with a lock
file held until this process exits, so no other test process on the machine
hands it out too.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import socket
import tempfile
from pathlib import Path
from typing import IO

# Below Linux's default ephemeral range (32768-60999), above well-known ports.
PORT_RANGE = range(20000, 32000)
LOCK_DIR = Path(tempfile.gettempdir()) / "chatly-test-ports"

_claimed: list[IO[bytes]] = []


def free_port() -> int:
    """A loopback TCP port nothing listens on, reserved for this process."""
    LOCK_DIR.mkdir(exist_ok=True)
    start = random.randrange(len(PORT_RANGE))
    for i in range(len(PORT_RANGE)):
        port = PORT_RANGE[(start + i) % len(PORT_RANGE)]
        lock = open(LOCK_DIR / str(port), "wb")  # noqa: SIM115 - kept open
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        if _bindable(port):
            _claimed.append(lock)
            return port
        lock.close()
    raise RuntimeError(f"no free port in {PORT_RANGE} (pid {os.getpid()})")


def _bindable(port: int) -> bool:
    """Whether nothing holds ``port`` on loopback (IPv4, and IPv6 where there is
    one: the interop tests run a Synapse on ``[::1]``)."""
    try:
        with socket.socket(socket.AF_INET) as sock:
            sock.bind(("127.0.0.1", port))
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", port))
    except OSError as exc:
        return exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)  # no IPv6
    return True
