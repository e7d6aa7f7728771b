"""Application service registrations (spec v1.19, Application Service API,
"Registration"): one YAML file per application service, parsed into a typed,
validated ``AppServiceRegistration``.

Regexes match from the start of the string (``re.match``), as Synapse matches
them, so ``@irc_.*`` covers ``@irc_alice:example.org``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

USERS = "users"
ALIASES = "aliases"
ROOMS = "rooms"
NAMESPACE_KINDS = (USERS, ALIASES, ROOMS)

# Accepted names of the MSC2409 flag (stable since spec v1.13) and MSC3202.
EPHEMERAL_KEYS = (
    "receive_ephemeral",
    "push_ephemeral",
    "de.sorunome.msc2409.push_ephemeral",
)
MSC3202_KEYS = ("org.matrix.msc3202", "io.element.msc3202")
DEVICE_MASQUERADING_KEYS = (
    "device_masquerading",
    "org.matrix.msc3202.device_masquerading",
)


class RegistrationError(Exception):
    """A registration file cannot be used; the message names the file."""


@attrs.frozen
class Namespace:
    """One namespace entry: a regex and whether the AS claims it alone."""

    regex: str
    exclusive: bool
    pattern: re.Pattern[str] = attrs.field(eq=False, repr=False)

    def matches(self, value: str) -> bool:
        """Whether ``value`` is in this namespace."""
        return self.pattern.match(value) is not None


@attrs.frozen(kw_only=True)
class AppServiceRegistration:
    """One application service, as its registration file declares it."""

    id: str
    url: str | None
    as_token: str
    hs_token: str
    sender_localpart: str
    sender: str
    users: tuple[Namespace, ...] = ()
    aliases: tuple[Namespace, ...] = ()
    rooms: tuple[Namespace, ...] = ()
    rate_limited: bool = True
    protocols: tuple[str, ...] = ()
    receive_ephemeral: bool = False
    msc3202: bool = False
    device_masquerading: bool = False
    source: str = "<inline>"

    def namespaces(self, kind: str) -> tuple[Namespace, ...]:
        """The namespaces of one kind (``users``, ``aliases``, ``rooms``)."""
        result: tuple[Namespace, ...] = getattr(self, kind)
        return result

    def is_interested_in_user(self, user_id: str) -> bool:
        """The user is the AS's sender or in its users namespaces."""
        return user_id == self.sender or _any(self.users, user_id)

    def is_interested_in_alias(self, alias: str) -> bool:
        """The alias is in the aliases namespaces."""
        return _any(self.aliases, alias)

    def is_interested_in_room(self, room_id: str) -> bool:
        """The room ID is in the rooms namespaces."""
        return _any(self.rooms, room_id)

    def is_exclusive_user(self, user_id: str) -> bool:
        """The user is the sender or in an exclusive users namespace."""
        return user_id == self.sender or _any(self.users, user_id, exclusive=True)

    def is_exclusive_alias(self, alias: str) -> bool:
        """The alias is in an exclusive aliases namespace."""
        return _any(self.aliases, alias, exclusive=True)

    def is_exclusive_room(self, room_id: str) -> bool:
        """The room ID is in an exclusive rooms namespace."""
        return _any(self.rooms, room_id, exclusive=True)

    def may_act_as(self, user_id: str) -> bool:
        """Whether the AS may masquerade as ``user_id`` (its sender or any
        user in its users namespaces, exclusive or not)."""
        return self.is_interested_in_user(user_id)


def _any(spaces: tuple[Namespace, ...], value: str, exclusive: bool = False) -> bool:
    return any(ns.matches(value) for ns in spaces if ns.exclusive or not exclusive)


def load_registration_file(path: Path, server_name: str) -> AppServiceRegistration:
    """Read and validate one registration file.

    Raises:
        RegistrationError: unreadable, not YAML, or invalid (naming the file).
    """
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise RegistrationError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise RegistrationError(f"{path}: invalid YAML: {exc}") from None
    return parse_registration(data, server_name, source=str(path))


def parse_registration(
    data: Any, server_name: str, source: str = "<inline>"
) -> AppServiceRegistration:
    """Validate parsed YAML of a registration.

    Raises:
        RegistrationError: naming ``source`` and the offending key.
    """
    if not isinstance(data, Mapping):
        raise RegistrationError(f"{source}: expected a mapping of keys")

    def fail(key: str, why: str) -> RegistrationError:
        return RegistrationError(f"{source}: {key}: {why}")

    for key in ("id", "as_token", "hs_token", "sender_localpart"):
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise fail(key, "required, a non-empty string")
    url = data.get("url")
    if url is not None and not (
        isinstance(url, str) and url.startswith(("http://", "https://"))
    ):
        raise fail("url", "expected an http(s) URL or null")
    localpart = data["sender_localpart"]
    if not re.fullmatch(r"[a-z0-9._=/+-]+", localpart):
        raise fail("sender_localpart", "not a valid user ID localpart")
    raw_ns = data.get("namespaces") or {}
    if not isinstance(raw_ns, Mapping):
        raise fail("namespaces", "expected a mapping")
    unknown = set(raw_ns) - set(NAMESPACE_KINDS)
    if unknown:
        raise fail("namespaces", f"unknown kind(s) {sorted(unknown)}")
    spaces = {
        kind: _parse_namespaces(raw_ns.get(kind), f"namespaces.{kind}", fail)
        for kind in NAMESPACE_KINDS
    }
    protocols = data.get("protocols") or []
    if not isinstance(protocols, list) or not all(
        isinstance(p, str) for p in protocols
    ):
        raise fail("protocols", "expected a list of strings")
    flags = {
        key: data[key]
        for key in ("rate_limited", *EPHEMERAL_KEYS, *MSC3202_KEYS)
        + DEVICE_MASQUERADING_KEYS
        if key in data
    }
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise fail(key, "expected true or false")
    return AppServiceRegistration(
        id=data["id"],
        url=url,
        as_token=data["as_token"],
        hs_token=data["hs_token"],
        sender_localpart=localpart,
        sender=f"@{localpart}:{server_name}",
        users=spaces[USERS],
        aliases=spaces[ALIASES],
        rooms=spaces[ROOMS],
        rate_limited=flags.get("rate_limited", True),
        protocols=tuple(protocols),
        receive_ephemeral=any(flags.get(k, False) for k in EPHEMERAL_KEYS),
        msc3202=any(flags.get(k, False) for k in MSC3202_KEYS),
        device_masquerading=any(flags.get(k, False) for k in DEVICE_MASQUERADING_KEYS),
        source=source,
    )


def _parse_namespaces(raw: Any, key: str, fail: Any) -> tuple[Namespace, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise fail(key, "expected a list of {exclusive, regex}")
    result = []
    for i, entry in enumerate(raw):
        where = f"{key}[{i}]"
        if not isinstance(entry, Mapping):
            raise fail(where, "expected a mapping with exclusive and regex")
        regex, exclusive = entry.get("regex"), entry.get("exclusive", False)
        if not isinstance(regex, str) or not regex:
            raise fail(f"{where}.regex", "required, a non-empty string")
        if not isinstance(exclusive, bool):
            raise fail(f"{where}.exclusive", "expected true or false")
        try:
            pattern = re.compile(regex)
        except re.error as exc:
            raise fail(f"{where}.regex", f"invalid regex: {exc}") from None
        result.append(Namespace(regex=regex, exclusive=exclusive, pattern=pattern))
    return tuple(result)
