"""The shared secret of the internal replication API (``workers`` section).

Every process of a worker deployment reads the same file (mode 0600); the
internal HTTP calls between processes carry it as a bearer token. ``synctl
init`` creates it, and so does the first process that starts without it: the
file is linked into place whole, so processes starting together agree on one.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from homeserver.config.loader import ConfigError
from homeserver.util.structure import Problem

_MIN_LENGTH = 32


def replication_secret_file(data_dir: Path, configured: str) -> Path:
    """The secret's path: ``configured``, relative to the data directory."""
    path = Path(configured)
    return path if path.is_absolute() else data_dir / path


def ensure_replication_secret(path: Path) -> str:
    """The secret in ``path``, writing a new random one first if none is there.

    Raises:
        ConfigError: the file cannot be read or holds too short a secret.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written in full under a private temporary name, then linked into
        # place: link fails if the name exists, so a process racing us
        # reads either our whole secret or its own, never a partial file.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as stream:
                stream.write(secrets.token_urlsafe(48) + "\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.link(tmp_name, path)
        except FileExistsError:
            pass
        finally:
            Path(tmp_name).unlink(missing_ok=True)
    return read_replication_secret(path)


def read_replication_secret(path: Path) -> str:
    """The secret in ``path``.

    Raises:
        ConfigError: the file cannot be read or holds too short a secret.
    """
    try:
        secret = path.read_text().strip()
    except OSError as exc:
        problem = Problem("", f"cannot read the replication secret: {exc.strerror}")
        raise ConfigError([problem], str(path)) from None
    if len(secret) < _MIN_LENGTH:
        problem = Problem("", f"the replication secret is under {_MIN_LENGTH} chars")
        raise ConfigError([problem], str(path))
    return secret
