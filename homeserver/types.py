"""Typed Matrix identifiers and the JSON alias used across the server.

Spec: appendices, "Identifier Grammar".
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from homeserver.errors import Codes, MatrixError
from homeserver.events.ids import (
    ALIAS_SIGIL,
    USER_SIGIL,
    InvalidId,
    is_valid_server_name,
    split_id,
)

JsonDict = dict[str, Any]

# Historical user IDs allow more; new registrations use the strict grammar.
_STRICT_LOCALPART = re.compile(r"^[a-z0-9._=\-/+]+\Z")
_HISTORICAL_LOCALPART = re.compile(r"^[\x21-\x39\x3b-\x7e]+\Z")
MAX_USER_ID_LENGTH = 255


def _split_id(sigil: str, value: str) -> tuple[str, str]:
    """``split_id`` with a 400 M_INVALID_PARAM for a malformed ID."""
    try:
        return split_id(value, sigil)
    except InvalidId:
        raise MatrixError(400, f"Invalid ID: {value!r}", Codes.INVALID_PARAM) from None


@attrs.frozen(slots=True)
class UserID:
    """A user ID, ``@localpart:domain``."""

    localpart: str
    domain: str

    @classmethod
    def parse(cls, value: str) -> UserID:
        """Parse ``@localpart:domain``; raises a 400 M_INVALID_PARAM if malformed."""
        localpart, domain = _split_id(USER_SIGIL, value)
        if len(value) > MAX_USER_ID_LENGTH or not _HISTORICAL_LOCALPART.match(
            localpart
        ):
            raise MatrixError(400, f"Invalid user ID: {value!r}", Codes.INVALID_PARAM)
        return cls(localpart, domain)

    def to_string(self) -> str:
        """The ``@localpart:domain`` form."""
        return f"@{self.localpart}:{self.domain}"

    def __str__(self) -> str:
        return self.to_string()


def is_valid_localpart(localpart: str) -> bool:
    """Whether ``localpart`` fits the grammar for newly registered users."""
    return bool(_STRICT_LOCALPART.match(localpart))


MAX_ALIAS_BYTES = 255


@attrs.frozen(slots=True)
class RoomAlias:
    """A room alias, ``#localpart:domain``.

    Spec: appendices, "Room Aliases": the localpart may hold any non-surrogate
    code point but ``:`` and NUL, the domain is a server name, and the whole
    alias is at most 255 bytes of UTF-8.
    """

    localpart: str
    domain: str

    @classmethod
    def parse(cls, value: str) -> RoomAlias:
        """Parse ``#localpart:domain``; raises a 400 M_INVALID_PARAM if malformed."""
        try:
            localpart, domain = split_id(value, ALIAS_SIGIL)
            too_long = len(value.encode("utf-8")) > MAX_ALIAS_BYTES
        except (InvalidId, UnicodeEncodeError):  # UnicodeEncodeError: surrogates
            raise MatrixError(
                400, f"Invalid room alias: {value!r}", Codes.INVALID_PARAM
            ) from None
        if (
            not localpart
            or "\x00" in localpart
            or too_long
            or not is_valid_server_name(domain)
        ):
            raise MatrixError(
                400, f"Invalid room alias: {value!r}", Codes.INVALID_PARAM
            )
        return cls(localpart, domain)

    def to_string(self) -> str:
        """The ``#localpart:domain`` form."""
        return f"#{self.localpart}:{self.domain}"

    def __str__(self) -> str:
        return self.to_string()
