"""The server process as synctl sees it: pid file, liveness, spawning, log tails."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import homeserver
from homeserver.cli.datadir import DataDir
from homeserver.cli.httpclient import versions_answer
from homeserver.cli.yamlfile import write_text_atomically

_POLL_INTERVAL = 0.2


def server_command(data_dir: DataDir, worker: str | None = None) -> list[str]:
    """The command line that runs the server (or worker ``worker``) in the
    foreground."""
    command = [sys.executable, "-m", "homeserver", "--data-dir", str(data_dir.root)]
    return command + (["--worker", worker] if worker else [])


def pid_file(data_dir: DataDir, worker: str | None = None) -> Path:
    """The pid file of main (``worker`` None) or of worker ``worker``."""
    return data_dir.pid_file if worker is None else data_dir.worker_pid_file(worker)


def stderr_log(data_dir: DataDir, worker: str | None = None) -> Path:
    """Where the stdout and stderr of main or of worker ``worker`` go."""
    if worker is None:
        return data_dir.stderr_log
    return data_dir.worker_stderr_log(worker)


def _child_env() -> dict[str, str]:
    # Make `-m homeserver` find this very package, even when synctl runs from a
    # fresh clone that was never installed.
    source_root = str(Path(homeserver.__file__).resolve().parent.parent)
    env = dict(os.environ)
    paths = [source_root] + [
        p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p
    ]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    # glibc gives each thread its own malloc arena; with database and CPU
    # pools that multiplies resident memory for no gain (as Synapse's docs note).
    env.setdefault("MALLOC_ARENA_MAX", "2")
    return env


class DetachedPopen(subprocess.Popen[bytes]):
    """A child meant to outlive synctl.

    Dropping a Popen whose process still runs raises a ResourceWarning; for the
    server that is the point, so the warning is silenced. (The base class still
    reaps the child later if it exits while this process lives.)
    """

    def __del__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            super().__del__()


def spawn_server(
    data_dir: DataDir, worker: str | None = None
) -> subprocess.Popen[bytes]:
    """Start the server (or worker ``worker``) detached from this terminal,
    output to its stderr log.

    The child gets its own session, so closing the terminal or pressing Ctrl-C in
    it does not stop the server.
    """
    # One argument for main, so that a replaced server_command keeps working.
    command = server_command(data_dir, worker) if worker else server_command(data_dir)
    log = stderr_log(data_dir, worker)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        return DetachedPopen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            cwd=data_dir.root,
            env=_child_env(),
            start_new_session=True,
        )


def write_pid(data_dir: DataDir, pid: int, worker: str | None = None) -> None:
    """Record the pid of the server (or of worker ``worker``)."""
    path = pid_file(data_dir, worker)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, f"{pid}\n", mode=0o644)


def read_pid(data_dir: DataDir, worker: str | None = None) -> int | None:
    """The pid in the pid file, or None when there is no usable pid file."""
    try:
        text = pid_file(data_dir, worker).read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def remove_pid_file(data_dir: DataDir, worker: str | None = None) -> None:
    """Delete the pid file if it is there."""
    pid_file(data_dir, worker).unlink(missing_ok=True)


def _reap(pid: int) -> bool:
    """Collect ``pid`` if it is an exited child of ours; True if it was."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == pid


def is_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    if _reap(pid):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        # The state follows the parenthesised command name; Z is a zombie.
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def looks_like_server(pid: int) -> bool:
    """Whether ``pid`` seems to run the homeserver (guards against reused pids).

    Where the command line cannot be read (no /proc), give it the benefit of the
    doubt.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return b"homeserver" in cmdline


def running_pid(data_dir: DataDir, worker: str | None = None) -> int | None:
    """The pid of the running server (or worker) of ``data_dir``, or None."""
    pid = read_pid(data_dir, worker)
    if pid is None or not is_alive(pid) or not looks_like_server(pid):
        return None
    return pid


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to exit; True if it did."""
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def terminate(pid: int, timeout: float) -> bool:
    """SIGTERM ``pid``, then SIGKILL it after ``timeout`` seconds.

    Returns:
        True if it stopped on SIGTERM, False if it had to be killed.
    """
    return terminate_all([pid], timeout)[pid]


def terminate_all(pids: list[int], timeout: float) -> dict[int, bool]:
    """SIGTERM every pid at once (they shut down side by side), then SIGKILL
    those still running after ``timeout`` seconds.

    Returns:
        For each pid, True if it stopped on SIGTERM, False if it was killed.
    """
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    graceful = {}
    for pid in pids:
        graceful[pid] = wait_for_exit(pid, max(0.0, deadline - time.monotonic()))
        if not graceful[pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_for_exit(pid, 5.0)
    return graceful


def file_size(path: Path | None) -> int:
    """The size of ``path`` in bytes, 0 when it does not exist."""
    if path is None:
        return 0
    try:
        return path.stat().st_size
    except OSError:
        return 0


def tail(path: Path | None, since: int = 0, lines: int = 30) -> str:
    """The last ``lines`` lines written to ``path`` after byte offset ``since``."""
    if path is None:
        return ""
    try:
        with path.open("rb") as stream:
            # A file smaller than before was truncated or rotated: show it all.
            stream.seek(since if since <= file_size(path) else 0)
            data = stream.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace").rstrip("\n")
    return "\n".join(text.splitlines()[-lines:])


def wait_until_answering(
    proc: subprocess.Popen[bytes], base_url: str, timeout: float
) -> int | None:
    """Poll /versions until it answers 200.

    Returns:
        None once the server answers, or the exit status if it died first.

    Raises:
        TimeoutError: it neither answered nor died within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    next_dot = time.monotonic() + 1.0
    while True:
        if versions_answer(base_url, timeout=1.0):
            return None
        status = proc.poll()
        if status is not None:
            return status
        now = time.monotonic()
        if now >= deadline:
            raise TimeoutError
        if now >= next_dot:
            print(".", end="", flush=True)
            next_dot = now + 1.0
        time.sleep(_POLL_INTERVAL)
