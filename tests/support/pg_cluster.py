"""A throw-away PostgreSQL cluster of a test's own: ``initdb`` in a temp dir,
started with ``pg_ctl`` on a free port, default settings (``fsync`` and
``synchronous_commit`` on), and removed afterwards.

For tests that must crash PostgreSQL (``kill -9`` of the postmaster and its
backends) — never the machine's shared PostgreSQL. PostgreSQL refuses to run
as root, so as root the cluster belongs to (and runs as) the ``postgres`` user.
In CI a missing ``initdb`` fails the test (Debian's ``postgresql`` package has it).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.ports import free_port

# Debian keeps the server binaries out of PATH.
_BIN_DIRS = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"]
# A safety net for a broken cluster, never an assertion about timing.
SAFETY_NET_S = 60.0


def _binary(name: str) -> str:
    for directory in _BIN_DIRS:
        if (path := Path(directory) / name).exists():
            return str(path)
    found = shutil.which(name)
    if found is None:
        message = (
            f"PostgreSQL's {name} is not installed (Debian: apt install postgresql)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


class ThrowawayCluster:
    """One PostgreSQL cluster in its own directory, on its own port."""

    def __init__(self) -> None:
        self.port = free_port()
        self._user: str | None = "postgres" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="chatly-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(_binary("initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--locale=C")  # fmt: skip

    @property
    def admin_dsn(self) -> str:
        """A libpq connection string for the ``postgres`` database."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def dsn(self, dbname: str) -> str:
        """A libpq connection string for ``dbname``, as a server's config has it."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            list(args), capture_output=True, text=True, timeout=SAFETY_NET_S,
            user=self._user, cwd=self.root,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}\n{self.log_tail()}"
            )

    def start(self) -> None:
        """Start the cluster (crash recovery runs first after a kill) and wait."""
        # TCP only: a socket's lock file would name the killed postmaster too.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k ''"
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", str(int(SAFETY_NET_S)), "start")  # fmt: skip

    def postmaster_pid(self) -> int:
        """The running postmaster's process id (first line of postmaster.pid)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def kill9(self) -> None:
        """``kill -9`` the postmaster and every backend it started, at once, as a
        crash would: what only shared memory held is gone.

        All are stopped (SIGSTOP) first, so none of them sees the others die
        and reacts. Like after a power cut, the pid file is left behind; it is
        removed once they are dead, as the kernel may keep a dead postmaster's
        pid (a zombie) for a while and PostgreSQL refuses to start while that
        pid exists.
        """
        postmaster = self.postmaster_pid()
        os.kill(postmaster, signal.SIGSTOP)  # it forks nothing more
        pids = [postmaster, *_children(postmaster)]
        for pid in pids:
            _signal(pid, signal.SIGSTOP)
        for pid in pids:
            _signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + SAFETY_NET_S
        while any(_alive(pid) for pid in pids):
            assert time.monotonic() < deadline, "PostgreSQL survived kill -9"
            time.sleep(0.05)
        (self.data / "postmaster.pid").unlink()

    def execute(self, dbname: str, sql: str) -> list[tuple[Any, ...]]:
        """Run one statement in ``dbname`` on a fresh autocommit connection."""
        import psycopg2

        conn = psycopg2.connect(self.dsn(dbname))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall()) if cur.description else []
        finally:
            conn.close()

    def log_tail(self, lines: int = 40) -> str:
        """The end of the cluster's log, for failure messages."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def destroy(self) -> None:
        """Stop the cluster (immediately) and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                capture_output=True, timeout=SAFETY_NET_S, user=self._user,
                cwd=self.root,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (PostgreSQL backends are direct
    children of the postmaster)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
