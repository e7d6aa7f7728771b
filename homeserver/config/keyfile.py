"""The server's ed25519 signing key file (Synapse's ``signing.key`` format).

One key a line: ``ed25519 <version> <unpadded base64 seed>``. The first key is the
one the server signs with. The file is private (mode 0600): whoever holds it can
speak for the server over federation.
"""

from __future__ import annotations

import os
import secrets
import string
import tempfile
from pathlib import Path

from signedjson.key import generate_signing_key, read_signing_keys, write_signing_keys
from signedjson.types import SigningKey

from homeserver.config.loader import ConfigError
from homeserver.util.structure import Problem

_VERSION_ALPHABET = string.ascii_letters + string.digits


def _new_key_version() -> str:
    """A key version such as ``a_Xy3k``, as Synapse generates them."""
    return "a_" + "".join(secrets.choice(_VERSION_ALPHABET) for _ in range(4))


def generate_signing_key_file(path: Path) -> None:
    """Write a new ed25519 signing key to ``path``, replacing any file there.

    The key is written to a private temporary file next to ``path`` and moved into
    place, so a crash never leaves a half-written or world-readable key.

    Args:
        path: where to write the key file.
    """
    key = generate_signing_key(_new_key_version())
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file with mode 0600.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as stream:
            write_signing_keys(stream, [key])
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def read_signing_key(path: Path) -> SigningKey:
    """Read the first signing key from ``path``.

    Args:
        path: the key file.

    Returns:
        The signing key, with ``version`` and ``alg`` set.

    Raises:
        ConfigError: the file cannot be read or holds no valid key.
    """
    try:
        with path.open() as stream:
            keys = read_signing_keys(line for line in stream if line.strip())
    except OSError as exc:
        problem = Problem("", f"cannot read signing key: {exc.strerror}")
        raise ConfigError([problem], str(path)) from None
    except ValueError as exc:
        problem = Problem("", f"invalid signing key file: {exc}")
        raise ConfigError([problem], str(path)) from None
    if not keys:
        raise ConfigError([Problem("", "the signing key file is empty")], str(path))
    return keys[0]


def ensure_signing_key(path: Path) -> SigningKey:
    """Read the signing key at ``path``, generating one first if there is none.

    Args:
        path: the key file.

    Returns:
        The signing key.

    Raises:
        ConfigError: an existing file cannot be read or holds no valid key.
    """
    if not path.exists():
        generate_signing_key_file(path)
    return read_signing_key(path)
