"""Random identifiers and opaque tokens."""

from __future__ import annotations

import hashlib
import secrets
import string

_ALPHANUM = string.ascii_letters + string.digits


def random_string(length: int) -> str:
    """A random string of ASCII letters and digits."""
    return "".join(secrets.choice(_ALPHANUM) for _ in range(length))


def new_token(prefix: str) -> str:
    """An opaque token, e.g. ``cht_...``; 40 random characters (~238 bits)."""
    return f"{prefix}_{random_string(40)}"


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
