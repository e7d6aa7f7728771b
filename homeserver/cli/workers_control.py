"""Worker processes as synctl runs them: start, stop and status of each.

Each worker of ``workers.instances`` runs as ``python -m homeserver --data-dir
DIR --worker NAME`` in its own session, with its pid in
``DIR/workers/NAME.pid`` and its stdout and stderr appended to
``DIR/workers/NAME.stderr.log``. Main starts first, then the event persisters
(the writers the others hand events to), then the rest in config order; stop
goes the other way round. ``status`` asks every process for
``GET /_chatly/replication/status`` with the replication secret.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import attrs

from homeserver.cli import process
from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.cli.httpclient import UnreachableError, request_json, versions_answer
from homeserver.config import HomeserverConfig
from homeserver.config.loader import ConfigError
from homeserver.config.replication_secret import (
    ensure_replication_secret,
    read_replication_secret,
    replication_secret_file,
)
from homeserver.workers.proxy_plan import reachable_host
from homeserver.workers.roles import MAIN, main_internal_port

STATUS_PATH = "/_chatly/replication/status"
_FIRST_ROLES = ("event_persister",)


@attrs.frozen
class Proc:
    """One process of the deployment as synctl sees it."""

    name: str
    role: str
    base_url: str
    worker: str | None  # None for main

    @property
    def label(self) -> str:
        """``name (role)``, for messages."""
        return f"{self.name} ({self.role})"


def main_proc(config: HomeserverConfig) -> Proc:
    """Main, as a ``Proc``."""
    port = main_internal_port(config)
    return Proc(MAIN, MAIN, f"http://127.0.0.1:{port}/", None)


def worker_procs(config: HomeserverConfig) -> list[Proc]:
    """The workers in start order: event persisters first, then config order."""
    instances = sorted(
        config.workers.instances, key=lambda i: i.role not in _FIRST_ROLES
    )
    return [
        Proc(
            i.name,
            i.role,
            f"http://{reachable_host(i.bind_address)}:{i.port}/",
            i.name,
        )
        for i in instances
    ]


def replication_secret_path(data_dir: DataDir, config: HomeserverConfig) -> Path:
    """The replication secret file of the deployment."""
    return replication_secret_file(
        data_dir.root, config.workers.replication_secret_path
    )


def ensure_secret(data_dir: DataDir, config: HomeserverConfig) -> None:
    """Create the replication secret (mode 0600) when workers are configured and
    it is missing."""
    path = replication_secret_path(data_dir, config)
    if not config.workers.instances or path.exists():
        return
    ensure_replication_secret(path)
    print(f"Generated the replication secret in {path}")


@attrs.frozen
class _Spawned:
    proc: Proc
    child: subprocess.Popen[bytes]
    offset: int


def _spawn(data_dir: DataDir, proc: Proc) -> _Spawned | None:
    """Start ``proc`` unless it runs; None if it already did."""
    pid = process.running_pid(data_dir, proc.worker)
    if pid is not None:
        print(f"  {proc.label} is already running (pid {pid})")
        return None
    process.remove_pid_file(data_dir, proc.worker)
    if versions_answer(proc.base_url):
        raise CliError(
            f"something else already answers at {proc.base_url} "
            f"(the port of {proc.label}); stop it or change the worker's port"
        )
    offset = process.file_size(process.stderr_log(data_dir, proc.worker))
    child = process.spawn_server(data_dir, proc.worker)
    process.write_pid(data_dir, child.pid, proc.worker)
    print(f"  starting {proc.label} (pid {child.pid})", flush=True)
    return _Spawned(proc, child, offset)


def _await(data_dir: DataDir, spawned: _Spawned, timeout: float) -> None:
    """Wait until a spawned worker answers; fail with its log tail."""
    proc, child = spawned.proc, spawned.child
    log = process.stderr_log(data_dir, proc.worker)
    print(f"  waiting for {proc.label} ", end="", flush=True)
    try:
        exit_status = process.wait_until_answering(child, proc.base_url, timeout)
    except TimeoutError:
        print()
        raise CliError(
            f"{proc.label} did not answer at {proc.base_url} within {timeout:g}s; "
            f"it is still running (pid {child.pid}).\n--- last lines of {log} ---\n"
            + process.tail(log, spawned.offset)
        ) from None
    if exit_status is not None:
        print()
        process.remove_pid_file(data_dir, proc.worker)
        raise CliError(
            f"{proc.label} exited with status {exit_status} before answering.\n"
            f"--- last lines of {log} ---\n" + process.tail(log, spawned.offset)
        )
    print(f"answers at {proc.base_url}")


def start_workers(
    data_dir: DataDir,
    config: HomeserverConfig,
    *,
    timeout: float,
    only: str | None = None,
) -> None:
    """Start every worker that is not running (or only worker ``only``).

    Two waves, each started side by side and then awaited: the event
    persisters (the writers the others hand events to), then the rest.
    """
    procs = [p for p in worker_procs(config) if only is None or p.name == only]
    if only is not None and not procs:
        raise CliError(f"no worker named {only!r} in workers.instances")
    if procs:
        print(f"Starting {len(procs)} worker(s):")
    first = [p for p in procs if p.role in _FIRST_ROLES]
    for wave in (first, [p for p in procs if p not in first]):
        spawned = [s for s in (_spawn(data_dir, p) for p in wave) if s is not None]
        for item in spawned:
            _await(data_dir, item, timeout)


def _pid_file_names(data_dir: DataDir) -> list[str]:
    folder = data_dir.root / "workers"
    return sorted(p.stem for p in folder.glob("*.pid")) if folder.is_dir() else []


def stop_workers(
    data_dir: DataDir,
    config: HomeserverConfig | None,
    *,
    timeout: float,
    only: str | None = None,
) -> None:
    """Stop the workers side by side (SIGTERM, SIGKILL after ``timeout``); also
    workers that have a pid file but are no longer in the config."""
    configured = [p.name for p in worker_procs(config)] if config else []
    names = list(reversed(configured))
    names += [n for n in _pid_file_names(data_dir) if n not in configured]
    running: dict[str, int] = {}
    for name in names:
        if only is not None and name != only:
            continue
        pid = process.running_pid(data_dir, name)
        if pid is None:
            process.remove_pid_file(data_dir, name)
        else:
            running[name] = pid
    if not running:
        return
    listed = ", ".join(f"{name} (pid {pid})" for name, pid in running.items())
    print(f"Stopping {listed}", flush=True)
    graceful = process.terminate_all(list(running.values()), timeout)
    for name, pid in running.items():
        process.remove_pid_file(data_dir, name)
        if not graceful[pid]:
            print(f"  {name} did not stop within {timeout:g}s of SIGTERM; killed it")
    print(f"Stopped {len(running)} worker(s)")


def fetch_status(
    proc: Proc, secret: str | None, *, timeout: float = 3.0
) -> dict[str, Any] | str:
    """The replication status of ``proc``, or why it could not be read."""
    url = proc.base_url.rstrip("/") + STATUS_PATH
    try:
        answer = request_json("GET", url, timeout=timeout, token=secret)
    except UnreachableError:
        return "does not answer"
    if answer.status != 200 or not isinstance(answer.body, dict):
        return f"status unavailable ({answer.matrix_error()})"
    return answer.body


def _lag_text(lag: Any) -> str:
    if not isinstance(lag, dict):
        return ""
    return f"lag {lag.get('entries', '?')} entries, {lag.get('seconds', 0):.2f}s"


def _print_proc(proc: Proc, pid: int | None, status: dict[str, Any] | str) -> None:
    if pid is None:
        print(f"{proc.name:<16} {proc.role:<18} stopped")
        return
    if isinstance(status, str):
        print(f"{proc.name:<16} {proc.role:<18} pid {pid:<8} {status}")
        return
    print(
        f"{proc.name:<16} {proc.role:<18} pid {pid:<8} redis {status.get('redis', '?')}"
    )
    positions = status.get("positions") or {}
    lags = status.get("lag") or {}
    for stream in sorted(positions):
        print(
            f"    {stream:<22} {positions[stream]:>12}  {_lag_text(lags.get(stream))}"
        )


def print_status(data_dir: DataDir, config: HomeserverConfig) -> int:
    """Print role, pid, stream positions and lag of main and every worker.

    Returns:
        0 when every process runs, 3 when one is stopped.
    """
    try:
        secret: str | None = read_replication_secret(
            replication_secret_path(data_dir, config)
        )
    except ConfigError:
        secret = None  # status then says it is unavailable (403)
    all_running = True
    print(f"{'NAME':<16} {'ROLE':<18} STATE")
    for proc in [main_proc(config), *worker_procs(config)]:
        pid = process.running_pid(data_dir, proc.worker)
        all_running = all_running and pid is not None
        status = fetch_status(proc, secret) if pid is not None else "stopped"
        _print_proc(proc, pid, status)
    return 0 if all_running else 3
