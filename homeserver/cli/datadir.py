"""The layout of a Chatly data directory.

One directory holds everything a server instance owns: its config, signing key,
database, media, pid file and logs. synctl and the server agree on these names.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from homeserver.cli.errors import CliError
from homeserver.config import HomeserverConfig, load_config
from homeserver.logging_setup import log_path

DEFAULT_DATA_DIR = Path("data")


def _absolute(path: str | Path) -> Path:
    return Path(path).expanduser().absolute()


@attrs.frozen
class DataDir:
    """Paths inside one data directory (always absolute)."""

    root: Path = attrs.field(converter=_absolute)

    @property
    def config(self) -> Path:
        """The config file, ``homeserver.yaml``."""
        return self.root / "homeserver.yaml"

    @property
    def signing_key(self) -> Path:
        """The default signing key file (``server.signing_key_path``)."""
        return self.root / "signing.key"

    @property
    def pid_file(self) -> Path:
        """The running server's process id, written by ``synctl start``."""
        return self.root / "homeserver.pid"

    @property
    def stderr_log(self) -> Path:
        """The server's stdout and stderr.

        Kept apart from the server's own log (``logging.file``) so that log stays in
        its configured format, while crashes before logging is set up (import
        errors, a port already in use) are still captured somewhere.
        """
        return self.root / "homeserver.stderr.log"

    def worker_pid_file(self, name: str) -> Path:
        """The pid of worker ``name``, written by ``synctl start``."""
        return self.root / "workers" / f"{name}.pid"

    def worker_stderr_log(self, name: str) -> Path:
        """The stdout and stderr of worker ``name`` (cf. ``stderr_log``)."""
        return self.root / "workers" / f"{name}.stderr.log"

    def log_file(
        self, config: HomeserverConfig, worker: str | None = None
    ) -> Path | None:
        """The server's (or worker ``worker``'s) own log file, or None when it
        logs to stderr."""
        return log_path(config.logging, self.root, worker or "main")

    def load_config(self) -> HomeserverConfig:
        """Load and validate ``homeserver.yaml``.

        Raises:
            CliError: there is no config file.
            ConfigError: the file is unreadable or invalid.
        """
        self.require_config()
        return load_config(self.config)

    def require_config(self) -> None:
        """Fail with advice when there is no homeserver.yaml.

        Raises:
            CliError: there is no config file.
        """
        if not self.config.exists():
            raise CliError(
                f"no config at {self.config}; "
                f"create one with: synctl init --data-dir {self.root}"
            )
