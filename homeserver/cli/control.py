"""``synctl start|stop|restart|status``: run the server in the background.

The server runs as ``python -m homeserver --data-dir DIR`` in its own session.
Its pid goes to ``DIR/homeserver.pid``; its stdout and stderr are appended to
``DIR/homeserver.stderr.log`` (the server's own log goes where ``logging.file``
says, ``DIR/homeserver.log`` by default).
"""

from __future__ import annotations

import argparse

from homeserver.cli import process, workers_control
from homeserver.cli.datadir import DataDir
from homeserver.cli.errors import CliError
from homeserver.cli.httpclient import VERSIONS_PATH, local_base_url, versions_answer
from homeserver.cli.init import DEFAULT_HTTP_PORT, DEFAULT_SERVER_NAME, init_data_dir
from homeserver.config import ConfigError, HomeserverConfig
from homeserver.config.keyfile import ensure_signing_key

STATUS_NOT_RUNNING = 3  # LSB init-script convention for "program is not running".
DEFAULT_START_TIMEOUT = 30.0
DEFAULT_STOP_TIMEOUT = 15.0


def _ensure_config(data_dir: DataDir) -> None:
    if data_dir.config.exists():
        return
    print(
        f"No config at {data_dir.config}; creating one with defaults "
        f"(server name {DEFAULT_SERVER_NAME}, port {DEFAULT_HTTP_PORT})"
    )
    init_data_dir(data_dir)


def _ensure_signing_key(data_dir: DataDir, config: HomeserverConfig) -> None:
    # Checked here so that a missing or broken key is a clear message, not a
    # crash in the server's log.
    key_path = data_dir.root / config.server.signing_key_path
    if not key_path.exists():
        print(f"No signing key at {key_path}; generating one")
    ensure_signing_key(key_path)


def _logs_report(
    data_dir: DataDir, config: HomeserverConfig, offsets: tuple[int, int]
) -> str:
    """The new lines of both logs since ``offsets``, for a failure message."""
    parts = []
    log_file = data_dir.log_file(config)
    for path, since in ((log_file, offsets[0]), (data_dir.stderr_log, offsets[1])):
        text = process.tail(path, since)
        if path is not None and text:
            parts.append(f"--- last lines of {path} ---\n{text}")
    return "\n".join(parts) or "(the logs are empty)"


def start(
    data_dir: DataDir,
    *,
    timeout: float = DEFAULT_START_TIMEOUT,
    worker: str | None = None,
) -> int:
    """Start the server and its workers in the background; wait until each answers.

    Creates a default config first when there is none, and the replication
    secret when workers are configured. Main starts first, then the workers
    (``workers_control``).

    Args:
        data_dir: the data directory.
        timeout: seconds to wait for each process to answer.
        worker: start only this worker.

    Returns:
        The exit status for synctl: 0 once everything answers (or already ran).

    Raises:
        ConfigError: the config is invalid.
        CliError: a process could not be started or did not come up.
    """
    _ensure_config(data_dir)
    config = data_dir.load_config()
    _ensure_signing_key(data_dir, config)
    workers_control.ensure_secret(data_dir, config)
    if worker is None:
        _start_main(data_dir, config, timeout)
    workers_control.start_workers(data_dir, config, timeout=timeout, only=worker)
    return 0


def _start_main(data_dir: DataDir, config: HomeserverConfig, timeout: float) -> None:
    public_url = config.client_base_url()
    pid = process.running_pid(data_dir)
    if pid is not None:
        print(f"Chatly is already running at {public_url} (pid {pid})")
        return
    process.remove_pid_file(data_dir)  # stale, if there was one
    local_url = local_base_url(config)
    if versions_answer(local_url):
        raise CliError(
            f"something else already answers at {local_url} (another server on that "
            "port?); stop it, or pick another port with: "
            f"synctl config set --data-dir {data_dir.root} listeners.0.port PORT"
        )
    offsets = (
        process.file_size(data_dir.log_file(config)),
        process.file_size(data_dir.stderr_log),
    )
    proc = process.spawn_server(data_dir)
    process.write_pid(data_dir, proc.pid)
    print(
        f"Starting Chatly (pid {proc.pid}); waiting for {local_url}{VERSIONS_PATH} ",
        end="",
        flush=True,
    )
    try:
        exit_status = process.wait_until_answering(proc, local_url, timeout)
    except TimeoutError:
        print()
        raise CliError(
            f"Chatly did not answer within {timeout:g}s. It is still running (pid "
            f"{proc.pid}); stop it with: synctl stop --data-dir {data_dir.root}\n"
            + _logs_report(data_dir, config, offsets)
        ) from None
    print()
    if exit_status is not None:
        process.remove_pid_file(data_dir)
        raise CliError(
            f"Chatly exited with status {exit_status} before answering.\n"
            + _logs_report(data_dir, config, offsets)
        )
    print(f"Chatly is running at {public_url} (pid {proc.pid})")


def stop(
    data_dir: DataDir,
    *,
    timeout: float = DEFAULT_STOP_TIMEOUT,
    worker: str | None = None,
) -> int:
    """Stop the workers, then the server: SIGTERM, then SIGKILL after
    ``timeout`` seconds each.

    Args:
        data_dir: the data directory.
        timeout: seconds to wait after SIGTERM before SIGKILL.
        worker: stop only this worker.

    Returns:
        0, also when the server was not running (as Synapse's synctl does).
    """
    try:
        config: HomeserverConfig | None = data_dir.load_config()
    except (ConfigError, CliError):
        config = None  # still stop what the pid files name
    workers_control.stop_workers(data_dir, config, timeout=timeout, only=worker)
    if worker is None:
        _stop_main(data_dir, timeout)
    return 0


def _stop_main(data_dir: DataDir, timeout: float) -> None:
    pid = process.read_pid(data_dir)
    if pid is None or not process.is_alive(pid) or not process.looks_like_server(pid):
        stale = data_dir.pid_file.exists()
        process.remove_pid_file(data_dir)
        print(
            "Chatly is not running" + (" (removed a stale pid file)" if stale else "")
        )
        return
    print(f"Stopping Chatly (pid {pid})")
    try:
        graceful = process.terminate(pid, timeout)
    except PermissionError:
        raise CliError(
            f"not allowed to stop pid {pid}; was it started by another user?"
        ) from None
    process.remove_pid_file(data_dir)
    if graceful:
        print("Chatly stopped")
    else:
        print(f"Chatly did not stop within {timeout:g}s of SIGTERM; killed it")


def status(data_dir: DataDir) -> int:
    """Report whether the server runs and answers; with workers, each
    process's role, pid, stream positions and replication lag.

    Returns:
        0 if it is running, 3 if it (or a worker) is not (the LSB convention).
    """
    pid = process.running_pid(data_dir)
    if pid is None:
        stale = " (the pid file is stale)" if data_dir.pid_file.exists() else ""
        print(f"Chatly is stopped{stale}")
        return STATUS_NOT_RUNNING
    try:
        config = data_dir.load_config()
    except (ConfigError, CliError) as exc:
        print(f"Chatly is running (pid {pid}), but its config cannot be read:")
        print(exc.describe() if isinstance(exc, ConfigError) else exc.message)
        return 0
    answers = versions_answer(local_base_url(config))
    print(f"Chatly is running at {config.client_base_url()} (pid {pid})")
    state = "answers" if answers else "does NOT answer"
    print(f"  {local_base_url(config)}{VERSIONS_PATH} {state}")
    if not config.workers.instances:
        return 0
    print()
    return workers_control.print_status(data_dir, config)


def _run_start(args: argparse.Namespace) -> int:
    return start(DataDir(args.data_dir), timeout=args.timeout, worker=args.worker)


def _run_stop(args: argparse.Namespace) -> int:
    return stop(DataDir(args.data_dir), timeout=args.timeout, worker=args.worker)


def _run_restart(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    stop(data_dir, timeout=DEFAULT_STOP_TIMEOUT, worker=args.worker)
    return start(data_dir, timeout=args.timeout, worker=args.worker)


def _run_status(args: argparse.Namespace) -> int:
    return status(DataDir(args.data_dir))


def add_parsers(
    subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    """Add the ``start``, ``stop``, ``restart`` and ``status`` subcommands."""
    parser = subparsers.add_parser(
        "start",
        parents=parents,
        help="start the server (and its workers) in the background",
        description="Start the server in the background and wait until it answers "
        "/_matrix/client/versions. Creates a default config first (server name "
        "localhost, port 8008) if the data directory has none. Output that does "
        "not go to the server's log is appended to homeserver.stderr.log. With "
        "workers.instances, main starts first, then the event persisters, then "
        "the other workers (pid in workers/NAME.pid, output in "
        "workers/NAME.stderr.log); the replication secret is created if missing.",
    )
    _add_timeout(parser, DEFAULT_START_TIMEOUT, "to wait for each process to answer")
    _add_worker(parser, "start only this worker")
    parser.set_defaults(func=_run_start)

    parser = subparsers.add_parser(
        "stop",
        parents=parents,
        help="stop the running server and its workers",
        description="Stop the workers, then the server: SIGTERM, then SIGKILL if "
        "a process has not exited within the timeout. Not running is not an error.",
    )
    _add_timeout(parser, DEFAULT_STOP_TIMEOUT, "to wait after SIGTERM before SIGKILL")
    _add_worker(parser, "stop only this worker")
    parser.set_defaults(func=_run_stop)

    parser = subparsers.add_parser(
        "restart",
        parents=parents,
        help="stop the server (if running), then start it",
        description="Stop the server (and its workers) if it is running, then "
        "start it again with its workers, e.g. to apply config changes.",
    )
    _add_timeout(parser, DEFAULT_START_TIMEOUT, "to wait for each process to answer")
    _add_worker(parser, "restart only this worker")
    parser.set_defaults(func=_run_restart)

    parser = subparsers.add_parser(
        "status",
        parents=parents,
        help="say whether the server is running",
        description="Say whether the server is running, at which URL, and whether "
        "it answers; with workers, each process's role, pid, stream positions and "
        "replication lag (from /_chatly/replication/status). Exits 0 if "
        "everything runs and 3 if the server or a worker does not (the LSB "
        "convention).",
    )
    parser.set_defaults(func=_run_status)


def _add_timeout(parser: argparse.ArgumentParser, default: float, what: str) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=default,
        metavar="SECONDS",
        help=f"how long {what} (default: {default:g})",
    )


def _add_worker(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--worker", metavar="NAME", default=None, help=what)
