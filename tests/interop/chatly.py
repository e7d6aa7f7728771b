"""Our server, set up exactly as an admin testing federation on one machine would:
``synctl init ... --self-signed-tls --insecure-federation-for-testing`` and
``synctl start``."""

from __future__ import annotations

from pathlib import Path

from homeserver.config import load_config
from tests.e2e.conftest import synctl
from tests.interop.synapse import LOG_FILES, tail


class Chatly:
    """One Chatly process, named ``127.0.0.1:<fed_port>``."""

    def __init__(
        self,
        data: Path,
        fed_port: int,
        client_port: int,
        postgres_dsn: str | None = None,
    ) -> None:
        """``synctl init`` the data directory (SQLite, or PostgreSQL through
        ``postgres_dsn`` when given)."""
        self.data = data
        self.fed_port = fed_port
        self.client_port = client_port
        self.server_name = f"127.0.0.1:{fed_port}"
        synctl(
            "init",
            "--data-dir",
            str(data),
            "--server-name",
            self.server_name,
            "--http-port",
            str(client_port),
            "--federation-port",
            str(fed_port),
            "--self-signed-tls",
            "--insecure-federation-for-testing",
            "--open-registration",
        )
        for key, value in (
            # Interop tests register users and send quickly; rate limits are not
            # what they test.
            ("rate_limiting.enabled", "false"),
            # Catch-up tests stop the peer; do not back off for long.
            ("federation.max_retry_interval", "5s"),
            # The legacy media routes serve new media too (test_media.py
            # checks them against Synapse, which is set up the same way).
            ("media.enable_authenticated_media", "false"),
        ):
            synctl("config", "set", "--data-dir", str(data), key, value)
        if postgres_dsn:
            synctl(
                "config", "set", "--data-dir", str(data), "database.dsn", postgres_dsn
            )
            synctl(
                "config", "set", "--data-dir", str(data), "database.engine", "postgres"
            )
        config = load_config(data / "homeserver.yaml")
        self.shared_secret = str(config.registration.registration_shared_secret)
        self.running = False

    @property
    def client_url(self) -> str:
        """Base URL of the client-server API."""
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def federation_url(self) -> str:
        """Base URL of the federation listener (TLS, self-signed)."""
        return f"https://127.0.0.1:{self.fed_port}"

    def start(self) -> None:
        """``synctl start`` (waits until the server answers)."""
        LOG_FILES.update(self.log_files())
        synctl("start", "--data-dir", str(self.data))
        self.running = True

    def stop(self) -> None:
        """``synctl stop``."""
        synctl("stop", "--data-dir", str(self.data), check=False)
        self.running = False

    def log_files(self) -> list[Path]:
        """The files worth showing when a test fails."""
        return [self.data / "homeserver.log", self.data / "homeserver.stderr.log"]

    def logs(self, lines: int = 80) -> str:
        """The end of our server's logs."""
        return "\n".join(tail(path, lines) for path in self.log_files())
