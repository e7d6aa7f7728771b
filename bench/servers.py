"""The servers the sync benchmark drives: a fresh Chatly and a fresh Synapse.

Both run on SQLite, listen on 127.0.0.1 only, with rate limits off and cheap
password hashing (registration is setup, not a measured figure). Synapse lives in
its own virtualenv (``bench/.venv-synapse`` by default), created with
``python -m venv`` and pip on first use, so its pins never touch the main
environment.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SYNAPSE_VENV = ROOT / "bench" / ".venv-synapse"
VERSIONS_PATH = "/_matrix/client/versions"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0
PIP_TIMEOUT = 900.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

Log = Callable[[str], None]


# Config changes every benchmark makes to a fresh Chatly: no rate limits, cheap
# password hashing for the many registrations, quiet logs.
CHATLY_BENCH_SETTINGS = (
    ("rate_limiting.enabled", "false"),
    ("auth.password_hashing.argon2_time_cost", "1"),
    ("auth.password_hashing.argon2_memory_cost_kib", "1024"),
    ("logging.level", "WARNING"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` (all its threads), in seconds."""
    return cpu_seconds_of(Path(f"/proc/{pid}/stat"))


def main_thread_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid``'s main thread alone (for a Twisted
    server: the reactor thread; the rest is its thread pools)."""
    return cpu_seconds_of(Path(f"/proc/{pid}/task/{pid}/stat"))


def cpu_seconds_of(stat_path: Path) -> float:
    """utime plus stime from a /proc ``stat`` file, in seconds."""
    # Fields after the parenthesised command name; utime and stime are fields
    # 14 and 15 of the whole line, so 11 and 12 of this tail (0-based).
    fields = stat_path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of ``pid`` in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def wait_for_versions(
    port: int, timeout: float, alive: Callable[[], bool] | None = None
) -> None:
    """Poll ``/_matrix/client/versions`` until it answers 200."""
    url = f"http://127.0.0.1:{port}{VERSIONS_PATH}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError("the server exited before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:g}s")


class Server:
    """A running server: where it listens and which process to measure."""

    name = "server"

    def __init__(self, log: Log, keep_data: bool = False) -> None:
        self.log = log
        self.keep_data = keep_data
        self.port = free_port()
        self.base_dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-sync-bench-"))
        self.pid: int | None = None
        self.version = "?"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def cleanup(self) -> None:
        if self.keep_data:
            self.log(f"{self.name}: data kept in {self.base_dir}")
        else:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def log_tail(self) -> str:
        return ""

    def __enter__(self) -> Server:
        try:
            self.start()
        except BaseException:
            tail = self.log_tail()
            if tail:
                self.log(f"{self.name}: last log lines:\n{tail}")
            self.stop()
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self.cleanup()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Chatly(Server):
    """This project's server, managed with ``synctl`` like ``rooms_bench.py``."""

    name = "chatly"

    def __init__(
        self,
        log: Log,
        keep_data: bool = False,
        settings: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(log, keep_data)
        self.data_dir = self.base_dir / "data"
        self.started = False
        # Extra ``synctl config set`` pairs after CHATLY_BENCH_SETTINGS.
        self.settings = settings

    def _synctl(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, str(ROOT / "synctl"), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=START_TIMEOUT,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"synctl {args[0]} failed ({result.returncode}):\n{result.stdout}"
            )

    def start(self) -> None:
        d = str(self.data_dir)
        self._synctl(
            "init",
            "--data-dir",
            d,
            "--server-name",
            "bench",
            "--http-port",
            str(self.port),
            "--open-registration",
        )
        for key, value in (*CHATLY_BENCH_SETTINGS, *self.settings):
            self._synctl("config", "set", "--data-dir", d, key, value)
        self.log(f"chatly: starting on 127.0.0.1:{self.port} (data in {d})")
        self.started = True
        self._synctl("start", "--data-dir", d)
        self.pid = int((self.data_dir / "homeserver.pid").read_text().strip())
        found = re.search(
            r'__version__\s*=\s*"([^"]+)"',
            (ROOT / "homeserver" / "__init__.py").read_text(),
        )
        self.version = (found.group(1) if found else "?") + _git_label()

    def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        try:
            self._synctl("stop", "--data-dir", str(self.data_dir))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            self.log(f"chatly: synctl stop failed: {exc}")

    def log_tail(self) -> str:
        return (
            _tail(self.data_dir / "homeserver.log")
            + "\n"
            + _tail(self.data_dir / "homeserver.stderr.log")
        )


def _git_label() -> str:
    """`` (abc1234)``, with ``+changes`` when homeserver/ has uncommitted edits."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "homeserver"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""
    if not head:
        return ""
    return f" ({head}{'+changes' if dirty else ''})"


def ensure_synapse_venv(venv: Path, spec: str, log: Log) -> Path:
    """The venv's python, with ``spec`` installed; creates the venv if needed."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import synapse; print(synapse.__version__)"]
    if python.exists():
        ok = subprocess.run(probe, capture_output=True, text=True, timeout=120)
        if ok.returncode == 0:
            return python
    if not python.exists():
        log(f"synapse: creating virtualenv {venv}")
        subprocess.run(
            [sys.executable, "-m", "venv", str(venv)], check=True, timeout=300
        )
    log(f"synapse: pip install {spec} into {venv} (first use; takes a minute)")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", spec],
        check=True,
        timeout=PIP_TIMEOUT,
    )
    subprocess.run(probe, check=True, capture_output=True, timeout=120)
    return python


def synapse_overrides(port: int, data: Path) -> dict[str, Any]:
    """What the benchmark changes in Synapse's generated config."""

    def unlimited() -> dict[str, int]:
        return {"per_second": 1_000_000, "burst_count": 1_000_000}

    return {
        # Client API on loopback only; no federation resource at all.
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {
            "name": "sqlite3",
            "args": {"database": str(data / "homeserver.db")},
        },
        "log_config": str(data / "bench.log.config"),
        "enable_registration": True,
        "enable_registration_without_verification": True,
        # Registration is setup, not a measured figure (Chatly gets a cheap
        # argon2 for the same reason).
        "bcrypt_rounds": 4,
        "presence": {"enabled": True},
        "report_stats": False,
        "enable_metrics": False,
        "url_preview_enabled": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        # Rate limits effectively off.
        "rc_message": unlimited(),
        "rc_registration": unlimited(),
        "rc_registration_token_validity": unlimited(),
        "rc_login": {
            "address": unlimited(),
            "account": unlimited(),
            "failed_attempts": unlimited(),
        },
        "rc_joins": {"local": unlimited(), "remote": unlimited()},
        "rc_joins_per_room": unlimited(),
        "rc_invites": {
            "per_room": unlimited(),
            "per_user": unlimited(),
            "per_issuer": unlimited(),
        },
        "rc_room_creation": unlimited(),
        "rc_presence": {"per_user": unlimited()},
        "rc_admin_redaction": unlimited(),
        "rc_3pid_validation": unlimited(),
        "rc_third_party_invite": unlimited(),
        "rc_media_create": unlimited(),
        "rc_delayed_event_mgmt": unlimited(),
        "rc_reports": unlimited(),
        "rc_user_directory": unlimited(),
        "rc_profile": unlimited(),
        "rc_key_requests": unlimited(),
    }


def synapse_log_config(log_file: Path) -> dict[str, Any]:
    """WARNING and above to a file, like Chatly's ``logging.level: WARNING``."""
    return {
        "version": 1,
        "formatters": {
            "precise": {
                "format": "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
            }
        },
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "precise",
                "filename": str(log_file),
                "encoding": "utf8",
            }
        },
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


class Synapse(Server):
    """Synapse from PyPI, in its own virtualenv, run as a child process."""

    name = "synapse"

    def __init__(
        self,
        log: Log,
        keep_data: bool = False,
        venv: Path = DEFAULT_SYNAPSE_VENV,
        spec: str = "matrix-synapse",
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(log, keep_data)
        self.venv = venv
        self.spec = spec
        # Top-level homeserver.yaml keys set after synapse_overrides.
        self.extra_config = extra_config or {}
        self.data = self.base_dir / "data"
        self.proc: subprocess.Popen[bytes] | None = None

    def configure(self, python: Path) -> Path:
        self.data.mkdir(parents=True)
        config_path = self.data / "homeserver.yaml"
        subprocess.run(
            [
                str(python),
                "-m",
                "synapse.app.homeserver",
                "--generate-config",
                "--server-name",
                "bench",
                "--config-path",
                str(config_path),
                "--report-stats=no",
            ],
            cwd=self.data,
            check=True,
            capture_output=True,
            timeout=120,
        )
        config = yaml.safe_load(config_path.read_text())
        config.update(synapse_overrides(self.port, self.data))
        config.update(self.extra_config)
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        log_config = self.data / "bench.log.config"
        log_config.write_text(
            yaml.safe_dump(synapse_log_config(self.data / "homeserver.log"))
        )
        return config_path

    def start(self) -> None:
        python = ensure_synapse_venv(self.venv, self.spec, self.log)
        self.version = subprocess.run(
            [
                str(python),
                "-c",
                "import importlib.metadata as m; print(m.version('matrix-synapse'))",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout.strip()
        config_path = self.configure(python)
        self.log(
            f"synapse {self.version}: starting on 127.0.0.1:{self.port} "
            f"(data in {self.data})"
        )
        with (self.data / "stderr.log").open("ab") as out:
            self.proc = subprocess.Popen(
                [str(python), "-m", "synapse.app.homeserver", "-c", str(config_path)],
                cwd=self.data,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        self.pid = self.proc.pid
        proc = self.proc
        wait_for_versions(self.port, START_TIMEOUT, lambda: proc.poll() is None)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.log("synapse: did not stop on SIGTERM; killing it")
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    def log_tail(self) -> str:
        return (
            _tail(self.data / "homeserver.log") + "\n" + _tail(self.data / "stderr.log")
        )
