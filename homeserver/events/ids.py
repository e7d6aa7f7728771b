"""Matrix identifiers: the one place that takes them apart.

Spec: appendices.md "Identifier Grammar" (Server Name, User Identifiers and
Historical User IDs, Room IDs, Event IDs, Room Aliases).

Every sigil'd ID but a v3+ event ID is ``<sigil><localpart>:<domain>``:

- the sigil is one character: ``@`` user, ``!`` room, ``$`` event, ``#`` alias;
- the localpart never holds ``:``, so the domain is everything after the
  *first* colon following the sigil. The domain is a server name and may
  itself hold colons: a port (``@a:example.org:8448``) and/or an IPv6 literal
  (``!r:[::1]:8448`` has the domain ``[::1]:8448``);
- event IDs of rooms v3 and later (``$`` + a base64 hash) have no colon and so
  no domain, and v12 room IDs (``!`` + a hash) have none either.

The functions come in pairs with explicit contracts: ``domain_of`` raises
``InvalidId`` when there is no domain, ``try_domain_of`` returns None. An empty
domain (``@alice:``) counts as no domain. Nothing here raises HTTP errors, so the
protocol core can use it; ``homeserver.types`` turns ``InvalidId`` into 400s.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

USER_SIGIL = "@"
ROOM_SIGIL = "!"
EVENT_SIGIL = "$"
ALIAS_SIGIL = "#"

# Every identifier carried in an event is limited to 255 bytes of UTF-8.
MAX_ID_BYTES = 255

# server_name = hostname [ ":" port ]; hostname is an IPv4 literal, a bracketed
# IPv6 literal or a DNS name (the IPv4 form is a subset of the DNS-name form);
# port = 1*5DIGIT.
_SERVER_NAME = re.compile(
    r"(?:\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Za-z.\-]{1,255})(?::[0-9]{1,5})?"
)
_HOSTNAME = re.compile(r"^[A-Za-z0-9.-]{1,255}\Z")
_LABEL = re.compile(r"^[A-Za-z0-9-]{1,63}\Z")


class InvalidId(ValueError):
    """An identifier or server name that does not have the required shape."""


# -- sigil'd identifiers -------------------------------------------------------


def split_id(identifier: str, sigil: str | None = None) -> tuple[str, str]:
    """Split ``<sigil><localpart>:<domain>`` into localpart and domain.

    Only the shape is checked (a sigil, a colon, a non-empty domain); the
    localpart may be empty and neither part is checked against its grammar.

    Args:
        identifier: the ID.
        sigil: the sigil it must start with; None accepts any first character.

    Returns:
        ``(localpart, domain)``, split at the first colon after the sigil.

    Raises:
        InvalidId: not a string, the wrong sigil, no colon, or an empty domain.
    """
    if not isinstance(identifier, str) or len(identifier) < 2:
        raise InvalidId(f"not an identifier: {identifier!r}")
    if sigil is not None and identifier[0] != sigil:
        raise InvalidId(f"identifier does not start with {sigil!r}: {identifier!r}")
    localpart, sep, domain = identifier[1:].partition(":")
    if not sep or not domain:
        raise InvalidId(f"identifier has no domain: {identifier!r}")
    return localpart, domain


def domain_of(identifier: str) -> str:
    """The server name part of ``@user:domain``, ``!room:domain``, ``$event:domain``
    or ``#alias:domain``.

    Raises:
        InvalidId: the identifier has no domain (e.g. a room v3+ event ID, or
            ``@alice:``), or is not a string.
    """
    return split_id(identifier)[1]


def try_domain_of(identifier: object) -> str | None:
    """Like ``domain_of``, but None where that raises (including for non-strings).

    For IDs taken from events, whose fields may hold anything.
    """
    if not isinstance(identifier, str):
        return None
    _, sep, domain = identifier[1:].partition(":")
    return domain if sep and domain else None


def localpart_of(identifier: str) -> str:
    """The localpart of ``<sigil><localpart>:<domain>`` (may be empty).

    Raises:
        InvalidId: the identifier has no domain, or is not a string.
    """
    return split_id(identifier)[0]


def has_domain(identifier: object, server_name: str) -> bool:
    """Whether the identifier's domain is ``server_name`` (False if it has none)."""
    return try_domain_of(identifier) == server_name


def domains_of(identifiers: Iterable[object]) -> set[str]:
    """The domains of ``identifiers``, skipping those that have none."""
    found = set()
    for identifier in identifiers:
        domain = try_domain_of(identifier)
        if domain is not None:
            found.add(domain)
    return found


def room_id_of_create_event(create_event_id: str) -> str:
    """A v12 room's ID: ``!`` and its create event's ID without the ``$``."""
    return ROOM_SIGIL + create_event_id[1:]


def create_event_id_of_room(room_id: str) -> str:
    """A v12 room's create event ID: ``$`` and the room ID without the ``!``."""
    return EVENT_SIGIL + room_id[1:]


# -- validation ----------------------------------------------------------------


def utf8_length(value: str) -> int:
    """The length of ``value`` in UTF-8 bytes; lone surrogates count as invalid.

    Raises:
        ValueError: ``value`` holds a lone surrogate and so isn't valid Unicode.
    """
    return len(value.encode("utf-8"))


def is_valid_server_name(value: str) -> bool:
    """Whether ``value`` matches the spec's server name grammar.

    Grammar only: a port of up to five digits is accepted whatever its value
    (``split_server_name`` is the stricter check for names we connect to).
    """
    return bool(_SERVER_NAME.fullmatch(value))


def is_valid_user_id(value: object) -> bool:
    """Whether ``value`` is a user ID events may carry.

    Historical user IDs are accepted (spec: "clients and servers MUST accept user
    IDs with localparts consisting of any legal non-surrogate Unicode code points
    except for ``:`` and NUL ... including the empty string"), so only the sigil,
    the domain and the length are checked.
    """
    if not isinstance(value, str):
        return False
    try:
        localpart, domain = split_id(value, USER_SIGIL)
    except InvalidId:
        return False
    if "\x00" in localpart:
        return False
    try:
        if utf8_length(value) > MAX_ID_BYTES:
            return False
    except ValueError:
        return False
    return is_valid_server_name(domain)


# -- server names ----------------------------------------------------------------


def split_server_name(server_name: str) -> tuple[str, int | None]:
    """``host[:port]`` into host (an IPv6 literal without brackets) and port.

    Stricter than ``is_valid_server_name``: the IPv6 literal must parse, a
    host must be an IP literal or a DNS name we can connect to
    (``is_dns_name``), and the port must be 1-65535, as for a name we connect
    to.

    Raises:
        InvalidId: not a valid server name.
    """
    if server_name.startswith("["):
        end = server_name.find("]")
        if end < 0:
            raise InvalidId(f"bad IPv6 literal in {server_name!r}")
        host, rest = server_name[1:end], server_name[end + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise InvalidId(f"bad IPv6 literal in {server_name!r}") from exc
        if rest and not rest.startswith(":"):
            raise InvalidId(f"bad server name {server_name!r}")
        port_text = rest[1:] if rest else None
    else:
        host, sep, port_text_raw = server_name.partition(":")
        port_text = port_text_raw if sep else None
        if not _HOSTNAME.match(host) or not (is_ip_literal(host) or is_dns_name(host)):
            raise InvalidId(f"bad server name {server_name!r}")
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidId(f"bad port in {server_name!r}")
    return host, int(port_text)


def is_dns_name(host: str) -> bool:
    """Whether ``host`` is a DNS name we can connect to and check a
    certificate for: labels of letters, digits and hyphens, and not numeric
    at the end. A name such as ``2130706433`` or ``127.1`` matches the
    server-name grammar's ``dns-name``, but no top-level domain is all digits
    (RFC 3696 section 2): resolvers read it as an IPv4 address in another
    notation, and certificates cannot name it (TLS would refuse it only after
    connecting). Such names are refused before any lookup.
    """
    labels = host.removesuffix(".").split(".")
    if not all(_LABEL.match(label) for label in labels):
        return False
    return not labels[-1].isdigit()


def is_ip_literal(host: str) -> bool:
    """Whether ``host`` (an IPv6 literal without brackets) is an IPv4 or IPv6
    address."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def strip_port(server_name: str) -> str:
    """The host part of a server name, brackets kept (``[::1]:8448`` -> ``[::1]``).

    Lenient: never raises, whatever ``server_name`` holds.
    """
    if server_name.startswith("["):
        end = server_name.find("]")
        return server_name[: end + 1] if end != -1 else server_name
    host, _, _ = server_name.partition(":")
    return host
