"""A real Synapse from PyPI, in a cached virtualenv, federating on loopback.

The virtualenv is cached outside the checkout (tests/support/venvs.py), so
reruns and fresh clones on the same machine reuse it.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
from pathlib import Path
from typing import Any

import yaml
from signedjson.key import generate_signing_key, write_signing_keys

from homeserver.config.tls import generate_self_signed
from tests.interop.client import wait_for_http
from tests.support.venvs import ensure_venv

SYNAPSE_VERSION = "1.163.2"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
LOOPBACK_RANGES = ["127.0.0.0/8", "::1/128"]

# The log files of every server started here (shared or for one test); a failed
# test shows the lines each wrote during the test.
LOG_FILES: set[Path] = set()


def ensure_synapse(version: str = SYNAPSE_VERSION) -> Path:
    """The python of a cached virtualenv with matrix-synapse==``version``
    (created on first use; see tests/support/venvs.py).

    Raises:
        RuntimeError: the virtualenv or the install failed (with pip's output).
    """
    return ensure_venv(
        "synapse",
        version,
        f"matrix-synapse=={version}",
        "import synapse.app.homeserver",
    )


def literal(host: str) -> str:
    """``host`` as it appears in a server name or URL (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host else host


def _unlimited() -> dict[str, int]:
    return {"per_second": 100_000, "burst_count": 100_000}


def synapse_config(
    data: Path,
    fed_port: int,
    client_port: int,
    shared_secret: str,
    host: str = "127.0.0.1",
) -> dict[str, Any]:
    """homeserver.yaml for a Synapse named ``host:fed_port`` (an IP literal).

    Federation over TLS with a self-signed certificate, no certificate checks,
    loopback peers allowed, no notary, SQLite, rate limits out of the way and
    short federation backoff so catch-up tests do not wait minutes.
    """
    return {
        "server_name": f"{literal(host)}:{fed_port}",
        "pid_file": str(data / "homeserver.pid"),
        "public_baseurl": f"http://{literal(host)}:{client_port}/",
        "listeners": [
            {
                "port": fed_port,
                "bind_addresses": [host],
                "type": "http",
                "tls": True,
                "resources": [{"names": ["federation"], "compress": False}],
            },
            {
                "port": client_port,
                "bind_addresses": [host],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            },
        ],
        "tls_certificate_path": str(data / "tls.crt"),
        "tls_private_key_path": str(data / "tls.key"),
        "federation_verify_certificates": False,
        # Synapse checks IP-literal server names against the blocklist alone,
        # ignoring ip_range_whitelist there, so loopback must leave the
        # federation blocklist.
        "ip_range_whitelist": LOOPBACK_RANGES,
        "federation_ip_range_blacklist": [],
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "database": {"name": "sqlite3", "args": {"database": str(data / "db")}},
        "log_config": str(data / "log.config"),
        "media_store_path": str(data / "media"),
        "signing_key_path": str(data / "signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "report_stats": False,
        "enable_metrics": False,
        "url_preview_enabled": False,
        # Legacy (unauthenticated) media routes serve and fetch new media, so
        # that tests/interop/test_media.py can check them both ways; the
        # authenticated routes work either way.
        "enable_authenticated_media": False,
        "bcrypt_rounds": 4,
        "presence": {"enabled": True},
        # Both off by default in Synapse; the directory test needs them.
        "allow_public_rooms_over_federation": True,
        "room_list_publication_rules": [{"action": "allow"}],
        "federation": {
            "client_timeout": "20s",
            # Give up on a down peer within seconds (then back off briefly),
            # rather than retrying one request for minutes.
            "max_long_retries": 2,
            "max_long_retry_delay": "1s",
            "destination_min_retry_interval": "1s",
            "destination_retry_multiplier": 1.5,
            "destination_max_retry_interval": "5s",
        },
        "rc_message": _unlimited(),
        "rc_registration": _unlimited(),
        "rc_login": {
            "address": _unlimited(),
            "account": _unlimited(),
            "failed_attempts": _unlimited(),
        },
        "rc_joins": {"local": _unlimited(), "remote": _unlimited()},
        "rc_joins_per_room": _unlimited(),
        "rc_invites": {
            "per_room": _unlimited(),
            "per_user": _unlimited(),
            "per_issuer": _unlimited(),
        },
        "rc_room_creation": _unlimited(),
        "rc_presence": {"per_user": _unlimited()},
        "rc_admin_redaction": _unlimited(),
        "rc_key_requests": _unlimited(),
        "rc_federation": {
            "window_size": 1000,
            "sleep_limit": 1000,
            "sleep_delay": 0,
            "reject_limit": 1000,
            "concurrent": 100,
        },
    }


def _log_config(log_file: Path) -> dict[str, Any]:
    return {
        "version": 1,
        "formatters": {
            "precise": {
                "format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - "
                "%(request)s - %(message)s"
            }
        },
        "filters": {"context": {"()": "synapse.logging.context.LoggingContextFilter"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "precise",
                "filename": str(log_file),
                "filters": ["context"],
                "encoding": "utf8",
            }
        },
        "loggers": {
            "synapse.storage.SQL": {"level": "WARNING"},
            "synapse.access": {"level": "INFO"},
        },
        "root": {"level": "INFO", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


class Synapse:
    """One Synapse process, named ``<host>:<fed_port>`` (127.0.0.1 or ::1)."""

    def __init__(
        self,
        python: Path,
        data: Path,
        fed_port: int,
        client_port: int,
        host: str = "127.0.0.1",
    ) -> None:
        self.python = python
        self.bind_host = host
        self.data = data
        self.fed_port = fed_port
        self.client_port = client_port
        self.host = literal(host)
        self.server_name = f"{self.host}:{fed_port}"
        self.shared_secret = secrets.token_hex(16)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_file = data / "homeserver.log"
        self.stderr_file = data / "stderr.log"
        self._configure()

    @property
    def client_url(self) -> str:
        """Base URL of the client-server API."""
        return f"http://{self.host}:{self.client_port}"

    @property
    def federation_url(self) -> str:
        """Base URL of the federation listener (TLS, self-signed)."""
        return f"https://{self.host}:{self.fed_port}"

    def _configure(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        (self.data / "media").mkdir(exist_ok=True)
        generate_self_signed(
            self.data / "tls.crt", self.data / "tls.key", self.server_name
        )
        with open(self.data / "signing.key", "w") as handle:
            write_signing_keys(
                handle, [generate_signing_key("a_" + secrets.token_hex(2))]
            )
        (self.data / "log.config").write_text(
            yaml.safe_dump(_log_config(self.log_file))
        )
        config = synapse_config(
            self.data,
            self.fed_port,
            self.client_port,
            self.shared_secret,
            self.bind_host,
        )
        (self.data / "homeserver.yaml").write_text(yaml.safe_dump(config))

    def start(self) -> None:
        """Start Synapse and wait until its client API answers.

        Raises:
            RuntimeError: it exited or did not come up in time (with its logs).
        """
        LOG_FILES.update(self.log_files())
        with self.stderr_file.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    str(self.python),
                    "-m",
                    "synapse.app.homeserver",
                    "-c",
                    str(self.data / "homeserver.yaml"),
                ],
                cwd=self.data,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        proc = self.proc
        try:
            wait_for_http(
                f"{self.client_url}/health",
                START_TIMEOUT,
                alive=lambda: proc.poll() is None,
            )
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"Synapse did not start: {exc}\n{self.logs()}") from None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    def log_files(self) -> list[Path]:
        """The files worth showing when a test fails."""
        return [self.log_file, self.stderr_file]

    def logs(self, lines: int = 80) -> str:
        """The end of Synapse's logs."""
        return "\n".join(tail(path, lines) for path in self.log_files())


def tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of ``path``, under a heading."""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"--- {path}: (missing)"
    return f"--- {path} (last {len(text)} lines)\n" + "\n".join(text)
