"""Server ACLs: is a server allowed to take part in a room?

Spec: client-server-api "Server Access Control Lists (ACLs) for rooms" and
the ``m.room.server_acl`` event schema; appendices "Glob-style matching";
server-server-api "Server Access Control Lists (ACLs)". Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

import attrs

from homeserver.events.ids import strip_port
from homeserver.types import JsonDict


def _glob_to_regex(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters, ``?`` exactly one; case-insensitive."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _patterns(value: Any) -> tuple[re.Pattern[str], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(_glob_to_regex(item) for item in value if isinstance(item, str))


def is_ip_literal(host: str) -> bool:
    """Whether a host (port stripped) is an IPv4 or bracketed IPv6 literal."""
    candidate = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


@attrs.frozen
class ServerAcl:
    """A parsed ``m.room.server_acl`` content."""

    allow: tuple[re.Pattern[str], ...]
    deny: tuple[re.Pattern[str], ...]
    allow_ip_literals: bool

    @classmethod
    def from_content(cls, content: JsonDict) -> ServerAcl:
        """Parse event content; malformed parts take the spec's defaults
        (a missing ``allow`` denies every server)."""
        allow_ip = content.get("allow_ip_literals", True)
        return cls(
            allow=_patterns(content.get("allow")),
            deny=_patterns(content.get("deny")),
            allow_ip_literals=allow_ip if isinstance(allow_ip, bool) else True,
        )

    def server_allowed(self, server_name: str) -> bool:
        """The spec's steps 2-5 (step 1, no ACL at all, is the caller's)."""
        host = strip_port(server_name)
        if not self.allow_ip_literals and is_ip_literal(host):
            return False
        if _matches(host, self.deny):
            return False
        return _matches(host, self.allow)


def _matches(host: str, patterns: Iterable[re.Pattern[str]]) -> bool:
    return any(pattern.fullmatch(host) for pattern in patterns)


def server_allowed_by_acl(content: JsonDict | None, server_name: str) -> bool:
    """Whether ``server_name`` may participate, given the room's ACL content
    (None when the room has no ``m.room.server_acl`` event: allowed)."""
    if content is None:
        return True
    return ServerAcl.from_content(content).server_allowed(server_name)
