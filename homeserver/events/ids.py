"""Light, pure checks on the identifiers that appear in PDUs.

Spec: appendices.md "Identifier Grammar" (Server Name, User Identifiers and
Historical User IDs, Room IDs, Event IDs). These helpers never raise HTTP errors
(unlike ``homeserver.types``) so that the protocol core stays free of the API
layer.
"""

from __future__ import annotations

import re

# Every identifier carried in an event is limited to 255 bytes of UTF-8.
MAX_ID_BYTES = 255

# server_name = hostname [ ":" port ]; hostname is an IPv4 literal, a bracketed
# IPv6 literal or a DNS name (the IPv4 form is a subset of the DNS-name form).
_SERVER_NAME = re.compile(
    r"(?:\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Za-z.\-]{1,255})(?::[0-9]{1,5})?"
)


def utf8_length(value: str) -> int:
    """The length of ``value`` in UTF-8 bytes; lone surrogates count as invalid.

    Raises:
        ValueError: ``value`` holds a lone surrogate and so isn't valid Unicode.
    """
    return len(value.encode("utf-8"))


def is_valid_server_name(value: str) -> bool:
    """Whether ``value`` matches the spec's server name grammar."""
    return bool(_SERVER_NAME.fullmatch(value))


def is_valid_user_id(value: object) -> bool:
    """Whether ``value`` is a user ID events may carry.

    Historical user IDs are accepted (spec: "clients and servers MUST accept user
    IDs with localparts consisting of any legal non-surrogate Unicode code points
    except for ``:`` and NUL ... including the empty string"), so only the sigil,
    the domain and the length are checked.
    """
    if not isinstance(value, str) or not value.startswith("@"):
        return False
    localpart, sep, domain = value[1:].partition(":")
    if not sep or "\x00" in localpart:
        return False
    try:
        if utf8_length(value) > MAX_ID_BYTES:
            return False
    except ValueError:
        return False
    return is_valid_server_name(domain)


def domain_of(identifier: str) -> str:
    """The server name part of ``@user:domain``, ``$event:domain`` or ``!room:domain``.

    Raises:
        ValueError: the identifier has no domain (e.g. a room v3+ event ID).
    """
    _, sep, domain = identifier[1:].partition(":")
    if not sep or not domain:
        raise ValueError(f"identifier has no domain: {identifier!r}")
    return domain
