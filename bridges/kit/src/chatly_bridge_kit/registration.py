"""AS registration files (spec v1.19, "Application Service API", Registration)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import attrs
import yaml


@attrs.frozen(kw_only=True)
class Registration:
    """The fields of a registration a bridge needs at run time."""

    id: str
    url: str
    as_token: str
    hs_token: str
    sender_localpart: str
    user_regexes: tuple[str, ...]
    alias_regexes: tuple[str, ...] = ()

    def is_our_user(self, user_id: str) -> bool:
        """True for the bridge bot and every user in our user namespaces."""
        return any(re.fullmatch(regex, user_id) for regex in self.user_regexes)

    def is_our_alias(self, alias: str) -> bool:
        return any(re.fullmatch(regex, alias) for regex in self.alias_regexes)


def generate_registration(
    *,
    as_id: str,
    url: str,
    sender_localpart: str,
    user_regex: str,
    alias_regex: str | None = None,
) -> dict[str, Any]:
    """A new registration dict with fresh random tokens.

    ``user_regex`` and ``alias_regex`` are exclusive namespaces; the bot
    (``sender_localpart``) is covered implicitly by the spec.
    """
    namespaces: dict[str, Any] = {
        "users": [{"exclusive": True, "regex": user_regex}],
        "aliases": [],
        "rooms": [],
    }
    if alias_regex:
        namespaces["aliases"].append({"exclusive": True, "regex": alias_regex})
    return {
        "id": as_id,
        "url": url,
        "as_token": secrets.token_urlsafe(32),
        "hs_token": secrets.token_urlsafe(32),
        "sender_localpart": sender_localpart,
        "namespaces": namespaces,
        "rate_limited": False,
        "receive_ephemeral": False,
    }


def write_registration(path: Path, registration: dict[str, Any]) -> None:
    """Write ``registration`` as YAML, readable only by its owner (it holds tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(yaml.safe_dump(registration, sort_keys=False))


def load_registration(path: Path, server_name: str) -> Registration:
    """Read a registration file written by :func:`write_registration`.

    Raises:
        ValueError: a required field is missing.
    """
    data = yaml.safe_load(path.read_text()) or {}
    try:
        namespaces = data.get("namespaces") or {}
        bot = re.escape(f"@{data['sender_localpart']}:{server_name}")
        users = tuple(entry["regex"] for entry in namespaces.get("users") or [])
        return Registration(
            id=str(data["id"]),
            url=str(data["url"]),
            as_token=str(data["as_token"]),
            hs_token=str(data["hs_token"]),
            sender_localpart=str(data["sender_localpart"]),
            user_regexes=(bot, *users),
            alias_regexes=tuple(
                entry["regex"] for entry in namespaces.get("aliases") or []
            ),
        )
    except KeyError as exc:
        raise ValueError(f"{path}: registration is missing {exc.args[0]}") from None
