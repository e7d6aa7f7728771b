"""Which URLs may be previewed (``url_preview.url_blacklist``) and how long a
preview may be reused (HTTP cache headers). Pure functions."""

from __future__ import annotations

import fnmatch
import re
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit


def url_blocked(url: str, rules: list[dict[str, str]]) -> bool:
    """Whether an entry of ``rules`` matches ``url``: every URL part the entry
    names matches its glob, or its regular expression when it starts with
    ``^`` (Synapse's ``url_preview_url_blacklist``)."""
    try:
        parts = urlsplit(url)
        # Touch the port, which raises on a bad one, before matching.
        parts.port  # noqa: B018
    except ValueError:
        return True
    for entry in rules:
        if all(_part_matches(getattr(parts, k), p) for k, p in entry.items()):
            return True
    return False


def _part_matches(value: object, pattern: str) -> bool:
    if value is None:
        return False
    text = str(value)
    if pattern.startswith("^"):
        return re.match(pattern, text) is not None
    return fnmatch.fnmatchcase(text, pattern)


def _max_age(cache_control: str) -> int | None:
    """Seconds from ``max-age``/``s-maxage``; 0 for ``no-store``/``no-cache``."""
    ages: dict[str, int] = {}
    for directive in cache_control.lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in ("no-store", "no-cache"):
            return 0
        if name in ("max-age", "s-maxage"):
            try:
                ages[name] = max(0, int(value.strip().strip('"')))
            except ValueError:
                continue
    if "s-maxage" in ages:
        return ages["s-maxage"]
    return ages.get("max-age")


def cache_lifetime_ms(
    cache_control: str | None,
    expires: str | None,
    date: str | None,
    default_ms: int,
    max_ms: int,
) -> int:
    """How long (ms) a fetched page's preview may be reused: from its
    ``Cache-Control`` (``no-store``/``no-cache`` mean not at all), else its
    ``Expires`` against its ``Date``, else ``default_ms``; at most ``max_ms``."""
    lifetime: int | None = None
    if cache_control:
        seconds = _max_age(cache_control)
        if seconds is not None:
            lifetime = seconds * 1000
    if lifetime is None and expires:
        try:
            until = parsedate_to_datetime(expires)
            since = parsedate_to_datetime(date) if date else None
        except (TypeError, ValueError, IndexError):
            lifetime = 0  # an invalid Expires means "already expired" (RFC 9111)
        else:
            if since is not None and until.tzinfo and since.tzinfo:
                lifetime = max(0, int((until - since).total_seconds() * 1000))
    if lifetime is None:
        lifetime = default_ms
    return min(lifetime, max_ms)
